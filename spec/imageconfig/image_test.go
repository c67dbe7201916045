package imageconfig

import (
	"github.com/quilt-runtime/quilt/spec"

	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1001:App:/home/app:/bin/sh
broken line
`

const testGroup = `root:x:0:
daemon:x:1:
app:x:1001:
wheel:x:10:app,root
audio:x:29:app
video:x:44:other
dup:x:10:app
`

func TestFromImageArgs(t *testing.T) {
	for _, c := range []struct {
		name              string
		entrypoint, cmd   []string
		oEntrypoint, oCmd []string
		want              []string
	}{
		{name: "neither", want: []string{"sh"}},
		{name: "cmd", cmd: []string{"ls", "-l"}, want: []string{"ls", "-l"}},
		{name: "entrypoint", entrypoint: []string{"/init"}, want: []string{"/init"}},
		{name: "both", entrypoint: []string{"/init", "-v"}, cmd: []string{"run"}, want: []string{"/init", "-v", "run"}},
		{name: "override cmd", entrypoint: []string{"/init"}, cmd: []string{"run"}, oCmd: []string{"debug"}, want: []string{"/init", "debug"}},
		{name: "override entrypoint drops cmd", entrypoint: []string{"/init"}, cmd: []string{"run"}, oEntrypoint: []string{"/bin/sh"}, want: []string{"/bin/sh"}},
		{name: "override both", entrypoint: []string{"/init"}, cmd: []string{"run"}, oEntrypoint: []string{"env"}, oCmd: []string{"true"}, want: []string{"env", "true"}},
		{name: "clear entrypoint", entrypoint: []string{"/init"}, cmd: []string{"run"}, oEntrypoint: []string{}, oCmd: []string{"ls"}, want: []string{"ls"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := ocispec.Image{Config: ocispec.ImageConfig{Entrypoint: c.entrypoint, Cmd: c.cmd}}
			s, err := FromImage(img, ImageOptions{Entrypoint: c.oEntrypoint, Cmd: c.oCmd})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Process.Args, c.want) {
				t.Errorf("args = %q, want %q", s.Process.Args, c.want)
			}
		})
	}
}

func TestFromImageEnvCwd(t *testing.T) {
	img := ocispec.Image{Config: ocispec.ImageConfig{
		Env:        []string{"PATH=/opt/bin:/bin", "LANG=C.UTF-8", "EMPTY=", "BARE"},
		WorkingDir: "srv/app",
	}}
	s, err := FromImage(img, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/opt/bin:/bin", "TERM=xterm", "LANG=C.UTF-8", "EMPTY=", "BARE"}
	if !slices.Equal(s.Process.Env, want) {
		t.Errorf("env = %q, want %q", s.Process.Env, want)
	}
	if s.Process.Cwd != "/srv/app" {
		t.Errorf("cwd = %q", s.Process.Cwd)
	}
	if s.Root.Readonly || s.Process.Terminal {
		t.Errorf("root readonly %v, terminal %v: want both false", s.Root.Readonly, s.Process.Terminal)
	}
	// The rest is the default configuration.
	d := spec.Default(spec.Options{})
	if !reflect.DeepEqual(s.Mounts, d.Mounts) || !reflect.DeepEqual(s.Linux, d.Linux) || s.Root.Path != "rootfs" {
		t.Error("FromImage changed more than the image asks for")
	}
	s, err = FromImage(ocispec.Image{}, ImageOptions{})
	if err != nil || s.Process.Cwd != "/" || !slices.Equal(s.Process.Env, d.Process.Env) {
		t.Errorf("empty image: cwd %q env %q, %v", s.Process.Cwd, s.Process.Env, err)
	}
}

func TestFromImageUser(t *testing.T) {
	for _, c := range []struct {
		user          string
		passwd, group string
		want          specs.User
		err           error
	}{
		{user: "", want: specs.User{}},
		{user: "app", want: specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 29}}},
		{user: "root", want: specs.User{AdditionalGids: []uint32{10}}},
		{user: "app:audio", want: specs.User{UID: 1000, GID: 29}},
		{user: "app:44", want: specs.User{UID: 1000, GID: 44}},
		{user: "1000", want: specs.User{UID: 1000, GID: 1001}},
		{user: "4242", want: specs.User{UID: 4242}},
		{user: "4242:4343", want: specs.User{UID: 4242, GID: 4343}},
		{user: "1000:wheel", want: specs.User{UID: 1000, GID: 10}},
		{user: ":video", want: specs.User{GID: 44}},
		{user: "0", passwd: "-", group: "-", want: specs.User{}},
		{user: "123:456", passwd: "-", group: "-", want: specs.User{UID: 123, GID: 456}},
		{user: "nobody", err: ErrUnknownUser},
		{user: "app:nogroup", err: ErrUnknownGroup},
		{user: "app", passwd: "-", err: ErrUnknownUser},
		{user: "app:", err: ErrInvalidUser},
		{user: "4294967295", err: ErrInvalidUser},
		{user: "99999999999", err: ErrInvalidUser},
		{user: "1:4294967295", err: ErrInvalidUser},
	} {
		t.Run(c.user, func(t *testing.T) {
			o := ImageOptions{Passwd: []byte(testPasswd), Group: []byte(testGroup)}
			if c.passwd == "-" {
				o.Passwd = nil
			}
			if c.group == "-" {
				o.Group = nil
			}
			s, err := FromImage(ocispec.Image{Config: ocispec.ImageConfig{User: c.user}}, o)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "\"") {
					t.Errorf("error %q names nothing", err)
				}
				return
			}
			if !reflect.DeepEqual(s.Process.User, c.want) {
				t.Errorf("user = %+v, want %+v", s.Process.User, c.want)
			}
		})
	}
}

func TestFromImageAnnotations(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	img := ocispec.Image{
		Created:  &created,
		Author:   "quilt",
		Platform: ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		Config: ocispec.ImageConfig{
			StopSignal:   "SIGINT",
			ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
			Labels: map[string]string{
				"com.example.team":     "runtime",
				AnnotationArchitecture: "from-label",
			},
		},
	}
	s, err := FromImage(img, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		AnnotationOS:           "linux",
		AnnotationArchitecture: "from-label",
		AnnotationVariant:      "v8",
		AnnotationAuthor:       "quilt",
		AnnotationCreated:      "2024-05-06T07:08:09Z",
		AnnotationStopSignal:   "SIGINT",
		AnnotationExposedPorts: "53/udp,80/tcp",
		"com.example.team":     "runtime",
	}
	if !reflect.DeepEqual(s.Annotations, want) {
		t.Errorf("annotations = %v\nwant %v", s.Annotations, want)
	}
}

// FuzzFromImage converts arbitrary image configurations and user
// databases. A configuration it accepts must be runnable: arguments, an
// absolute working directory, and every variable of the image in the
// environment with the image's value.
func FuzzFromImage(f *testing.F) {
	f.Add([]byte(`{"config":{"User":"app","Env":["A=1","PATH=/x"],"Cmd":["ls"],"WorkingDir":"w"}}`), []byte(testPasswd), []byte(testGroup), []byte(nil))
	f.Add([]byte(`{"architecture":"amd64","os":"linux","config":{"User":"1:2","Entrypoint":["/e"],"Labels":{"a":"b"},"StopSignal":"9"}}`), []byte(nil), []byte(nil), []byte(`["x"]`))
	f.Add([]byte(`{"config":{"User":"app:wheel"}}`), []byte("app:x:1:2::/:/bin/sh\n"), []byte("wheel:x:3:app\n"), []byte(`[]`))
	f.Add([]byte(`{}`), []byte(""), []byte(""), []byte(nil))
	f.Fuzz(func(t *testing.T, config, passwd, group, entrypoint []byte) {
		var img ocispec.Image
		if json.Unmarshal(config, &img) != nil {
			return
		}
		o := ImageOptions{Passwd: passwd, Group: group}
		if entrypoint != nil && json.Unmarshal(entrypoint, &o.Entrypoint) != nil {
			return
		}
		s, err := FromImage(img, o)
		if err != nil {
			return
		}
		if len(s.Process.Args) == 0 {
			t.Fatal("no process arguments")
		}
		if !strings.HasPrefix(s.Process.Cwd, "/") {
			t.Fatalf("cwd %q is not absolute", s.Process.Cwd)
		}
		last := map[string]string{}
		for _, kv := range img.Config.Env {
			last[envName(kv)] = kv
		}
		for name, kv := range last {
			if !slices.Contains(s.Process.Env, kv) {
				t.Fatalf("variable %s: %q missing from %q", name, kv, s.Process.Env)
			}
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatal(err)
		}
	})
}
