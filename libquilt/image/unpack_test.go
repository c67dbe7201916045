package image

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/quilt-runtime/quilt/spec/imageconfig"
)

func readConfig(t testing.TB, bundle string) *specs.Spec {
	t.Helper()
	var s specs.Spec
	if err := json.Unmarshal(readFile(t, filepath.Join(bundle, "config.json")), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestUnpackFormats unpacks the same image from every format, named so
// that the name could not tell the format, in copy mode.
func TestUnpackFormats(t *testing.T) {
	dir := t.TempDir()
	base := busyboxLayer(t)
	images := formatImages(t, dir, mkImage(t, testConfig, base), base)
	for what, p := range images {
		t.Run(what, func(t *testing.T) {
			bundle := filepath.Join(t.TempDir(), "bundle")
			r, err := Unpack(context.Background(), Options{Image: p, Bundle: bundle, Copy: true})
			if err != nil {
				t.Fatal(err)
			}
			if r.Overlay || r.Rootfs != filepath.Join(bundle, "rootfs") {
				t.Errorf("result %+v", r)
			}
			if got := readFile(t, filepath.Join(bundle, "rootfs/etc/hostname")); string(got) != "image\n" {
				t.Errorf("etc/hostname = %q", got)
			}
			if to, err := os.Readlink(filepath.Join(bundle, "rootfs/bin/sh")); err != nil || to != "busybox" {
				t.Errorf("bin/sh -> %q, %v", to, err)
			}
			s := readConfig(t, bundle)
			if r.Format == formatRootfs.String() {
				// No image configuration: the default process.
				if !slices.Equal(s.Process.Args, []string{"sh"}) || s.Process.User.UID != 0 {
					t.Errorf("rootfs tarball process = %+v", s.Process)
				}
				return
			}
			if len(r.Layers) != 1 || r.Digest == "" {
				t.Errorf("result %+v", r)
			}
			if !slices.Equal(s.Process.Args, []string{"/bin/sh", "-c", "echo hello"}) {
				t.Errorf("args = %q", s.Process.Args)
			}
			if s.Process.User.UID != 1000 || s.Process.User.GID != 1000 || !slices.Equal(s.Process.User.AdditionalGids, []uint32{50}) {
				t.Errorf("user = %+v", s.Process.User)
			}
			if s.Process.Cwd != "/tmp" || !slices.Contains(s.Process.Env, "GREETING=hi") || !slices.Contains(s.Process.Env, "PATH=/bin") {
				t.Errorf("cwd %q env %q", s.Process.Cwd, s.Process.Env)
			}
			if s.Annotations[imageconfig.AnnotationStopSignal] != "SIGINT" || s.Annotations["org.example.fixture"] != "yes" {
				t.Errorf("annotations = %v", s.Annotations)
			}
		})
	}
}

// TestUnpackLayers applies a multi-layer image with whiteouts and opaque
// directories, in copy mode and (as root) from the store: both give the
// same tree.
func TestUnpackLayers(t *testing.T) {
	dir := t.TempDir()
	img := mkImage(t, v1.Config{Cmd: []string{"sh"}},
		busyboxLayer(t),
		layerTar(t, tdir("opt/"), tdir("opt/a/"), treg("opt/a/old", "old"), treg("opt/keep", "1"), treg("etc/motd", "hello"), tdir("var/"), treg("var/log", "x")),
		layerTar(t, twhiteout("etc", "motd"), tdir("opt/a/"), treg("opt/a/.wh..wh..opq", ""), treg("opt/a/new", "new"), twhiteout("", "var")),
		layerTar(t, treg("opt/keep", "2"), tdir("var/"), treg("var/again", "y")),
	)
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": img})
	check := func(t *testing.T, rootfs string) map[string]string {
		t.Helper()
		for p, want := range map[string]string{"opt/a/new": "new", "opt/keep": "2", "var/again": "y"} {
			if got := readFile(t, filepath.Join(rootfs, p)); string(got) != want {
				t.Errorf("%s = %q, want %q", p, got, want)
			}
		}
		for _, p := range []string{"opt/a/old", "etc/motd", "var/log"} {
			if _, err := os.Lstat(filepath.Join(rootfs, p)); !os.IsNotExist(err) {
				t.Errorf("%s survived its whiteout: %v", p, err)
			}
		}
		return tree(t, rootfs)
	}
	copyBundle := filepath.Join(dir, "copy")
	if _, err := Unpack(context.Background(), Options{Image: src, Bundle: copyBundle, Copy: true}); err != nil {
		t.Fatal(err)
	}
	copied := check(t, filepath.Join(copyBundle, "rootfs"))
	if os.Geteuid() != 0 {
		return
	}
	bundle := filepath.Join(dir, "overlay")
	r, err := Unpack(context.Background(), Options{Image: src, Bundle: bundle, Root: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Remove(bundle) })
	if !r.Overlay || len(r.Layers) != 4 {
		t.Errorf("result %+v", r)
	}
	overlaid := check(t, r.Rootfs)
	delete(copied, ".")
	delete(overlaid, ".")
	for p, d := range copied {
		if overlaid[p] != d {
			t.Errorf("%s: copy %q, overlay %q", p, d, overlaid[p])
		}
	}
	for p := range overlaid {
		if _, ok := copied[p]; !ok {
			t.Errorf("%s only in the overlay", p)
		}
	}
}

// TestUnpackSelect picks images by reference and platform.
func TestUnpackSelect(t *testing.T) {
	dir := t.TempDir()
	base := busyboxLayer(t)
	imgA := mkImage(t, v1.Config{Cmd: []string{"a"}}, base)
	imgB := mkImage(t, v1.Config{Cmd: []string{"b"}}, base)
	imgArm := mkImage(t, v1.Config{Cmd: []string{"arm"}}, base)
	two := ociDir(t, filepath.Join(dir, "two"), map[string]v1.Image{"a": imgA, "b": imgB})
	twoTar := tarDir(t, two, filepath.Join(dir, "two.tar"))
	docker := dockerSave(t, filepath.Join(dir, "docker.tar"), map[string]v1.Image{"quilt.test/a:1": imgA, "busybox:latest": imgB})

	// A multi-platform index, itself the only entry of index.json.
	multi := filepath.Join(dir, "multi")
	p, err := layout.Write(multi, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: imgArm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: imgA, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	if err := p.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, image, ref, platform string
		cmd                        string
		err                        error
	}{
		{name: "layout ref a", image: two, ref: "a", cmd: "a"},
		{name: "layout ref b", image: two, ref: "b", cmd: "b"},
		{name: "layout tar ref b", image: twoTar, ref: "b", cmd: "b"},
		{name: "layout no ref", image: two, err: ErrAmbiguous},
		{name: "layout unknown ref", image: two, ref: "c", err: ErrNotFound},
		{name: "docker tag", image: docker, ref: "quilt.test/a:1", cmd: "a"},
		{name: "docker short name", image: docker, ref: "busybox", cmd: "b"},
		{name: "docker no ref", image: docker, err: ErrAmbiguous},
		{name: "docker unknown tag", image: docker, ref: "quilt.test/a:2", err: ErrNotFound},
		{name: "index default platform", image: multi, platform: "linux/amd64", cmd: "a"},
		{name: "index arm64", image: multi, platform: "linux/arm64", cmd: "arm"},
		{name: "index missing platform", image: multi, platform: "linux/s390x", err: ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			bundle := filepath.Join(t.TempDir(), "b")
			_, err := Unpack(context.Background(), Options{Image: c.image, Ref: c.ref, Platform: c.platform, Bundle: bundle, Copy: true})
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err != nil {
				if _, serr := os.Stat(bundle); !os.IsNotExist(serr) {
					t.Errorf("failed unpack left the bundle: %v", serr)
				}
				return
			}
			if s := readConfig(t, bundle); !slices.Equal(s.Process.Args, []string{c.cmd}) {
				t.Errorf("args = %q, want %q", s.Process.Args, c.cmd)
			}
		})
	}
}

// TestUnpackOverrides passes the entrypoint and command overrides through.
func TestUnpackOverrides(t *testing.T) {
	dir := t.TempDir()
	src := ociDir(t, filepath.Join(dir, "l"), map[string]v1.Image{"": mkImage(t, testConfig, busyboxLayer(t))})
	bundle := filepath.Join(dir, "b")
	_, err := Unpack(context.Background(), Options{Image: src, Bundle: bundle, Copy: true, Entrypoint: []string{"/bin/busybox"}, Cmd: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := readConfig(t, bundle); !slices.Equal(s.Process.Args, []string{"/bin/busybox", "id"}) {
		t.Errorf("args = %q", s.Process.Args)
	}
}

// TestUnpackUserInRoot makes sure the user database is read inside the
// image: an /etc/passwd symlink to the host's file resolves in the rootfs.
func TestUnpackUserInRoot(t *testing.T) {
	dir := t.TempDir()
	hostPasswd := filepath.Join(dir, "host-passwd")
	writeFile(t, hostPasswd, []byte("app:x:4242:4242::/:/bin/sh\n"))
	img := mkImage(t, v1.Config{User: "app"}, layerTar(t, tdir("etc/"), tsym("etc/passwd", hostPasswd)))
	src := ociDir(t, filepath.Join(dir, "l"), map[string]v1.Image{"": img})
	_, err := Unpack(context.Background(), Options{Image: src, Bundle: filepath.Join(dir, "b"), Copy: true})
	if !errors.Is(err, imageconfig.ErrUnknownUser) {
		t.Fatalf("err = %v, want the user unknown (the host's passwd must not be read)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !os.IsNotExist(err) {
		t.Errorf("failed unpack left the bundle: %v", err)
	}
}
