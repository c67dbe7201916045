package daemon_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestImages(t *testing.T) {
	d := startDaemon(t)
	img, phases := d.importImage(t, &quiltv1.ImportRequest{Path: imagePath, Name: "busybox:test"})
	if img == nil || !strings.HasPrefix(img.Id, "sha256:") || !phases["done"] || img.Size == 0 {
		t.Fatalf("import: %v, phases %v", img, phases)
	}
	for _, ref := range []string{img.Id, img.Id[7:19], "busybox:test", imagePath} {
		got, err := d.images.Inspect(ctx(t), &quiltv1.InspectImageRequest{Ref: ref})
		if err != nil || got.Id != img.Id {
			t.Errorf("inspect %q: %v %v", ref, got, err)
		}
	}
	list, err := d.images.List(ctx(t), &quiltv1.ListImagesRequest{})
	if err != nil || len(list.Images) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	// In use: refused; forced: its stopped containers go with it.
	r := d.run(t, &quiltv1.ContainerConfig{Image: "busybox:test", Args: []string{"true"}})
	_, err = d.images.Remove(ctx(t), &quiltv1.RemoveImageRequest{Ref: "busybox:test"})
	wantCode(t, err, codes.FailedPrecondition, "used by 1 container")
	if _, err := d.images.Remove(ctx(t), &quiltv1.RemoveImageRequest{Ref: "busybox:test", Force: true}); err != nil {
		t.Fatal(err)
	}
	_, err = d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: r.id})
	wantCode(t, err, codes.NotFound, "no such container")
	_, err = d.images.Inspect(ctx(t), &quiltv1.InspectImageRequest{Ref: img.Id})
	wantCode(t, err, codes.NotFound, "no such image")
	layers, _ := os.ReadDir(filepath.Join(d.root, "image", "layers", "sha256"))
	if len(layers) != 0 {
		t.Errorf("layers left after rmi: %d", len(layers))
	}
}

func TestBadInput(t *testing.T) {
	d := startDaemon(t)
	d.run(t, &quiltv1.ContainerConfig{Name: "taken", Args: []string{"true"}})
	// Inspect answers once the exit's clean-up is done.
	if _, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: "taken"}); err != nil {
		t.Fatal(err)
	}
	before := d.inventory(t)
	for _, tc := range []struct {
		name string
		req  *quiltv1.CreateRequest
		code codes.Code
		msg  string
	}{
		{"unknown image", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: "nosuch:1", Args: []string{"true"}}}, codes.NotFound, "no such image: nosuch:1"},
		{"missing image file", &quiltv1.CreateRequest{ImagePath: "/nonexistent/image.tar", Config: &quiltv1.ContainerConfig{Args: []string{"true"}}}, codes.NotFound, "/nonexistent/image.tar"},
		{"not an image", &quiltv1.CreateRequest{ImagePath: "/etc/hostname", Config: &quiltv1.ContainerConfig{Args: []string{"true"}}}, codes.InvalidArgument, "/etc/hostname"},
		{"invalid name", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: imagePath, Name: "bad name!", Args: []string{"true"}}}, codes.InvalidArgument, `invalid container name "bad name!"`},
		{"duplicate name", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: imagePath, Name: "taken", Args: []string{"true"}}}, codes.AlreadyExists, `"taken" is already in use`},
		{"negative memory", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: imagePath, Args: []string{"true"}, Resources: &quiltv1.Resources{Memory: -5}}}, codes.InvalidArgument, "memory limit -5"},
		{"negative pids", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: imagePath, Args: []string{"true"}, Resources: &quiltv1.Resources{PidsLimit: -1}}}, codes.InvalidArgument, "pids limit -1"},
		{"missing command", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: imagePath}}, codes.InvalidArgument, "no command"},
		{"bind source", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: imagePath, Args: []string{"true"}, Mounts: []*quiltv1.Mount{{Type: "bind", Source: "/nonexistent/dir", Destination: "/x"}}}}, codes.InvalidArgument, "/nonexistent/dir"},
		{"unknown user", &quiltv1.CreateRequest{Config: &quiltv1.ContainerConfig{Image: imagePath, Args: []string{"true"}, User: "nobody-here"}}, codes.InvalidArgument, "nobody-here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.ctrs.Create(ctx(t), tc.req)
			wantCode(t, err, tc.code, tc.msg)
			if after := d.inventory(t); after != before {
				t.Errorf("left behind:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	for _, ref := range []string{"nosuch", ""} {
		_, err := d.ctrs.Start(ctx(t), &quiltv1.StartRequest{Id: ref})
		if err == nil {
			t.Errorf("start %q: no error", ref)
		}
	}
}

// inventory summarises what exists of containers: records, directories,
// sockets, runtime state, cgroups and mounts.
func (d *daemon) inventory(t *testing.T) string {
	count := func(dir string) int {
		entries, _ := os.ReadDir(dir)
		return len(entries)
	}
	cg := 0
	for _, dir := range cgroupDirs(d.cgroupParent) {
		cg += count(dir)
	}
	list, _ := d.ctrs.List(ctx(t), &quiltv1.ListRequest{All: true})
	return strings.Join([]string{
		"containers=" + itoa(len(list.GetContainers())),
		"dirs=" + itoa(count(filepath.Join(d.root, "containers"))),
		"sockets=" + itoa(count(filepath.Join(d.state, "s"))),
		"runtime=" + itoa(count(filepath.Join(d.state, "runtime"))),
		"mounts=" + itoa(len(mountsUnder(d.dir))),
		"cgroup-entries=" + itoa(cg),
	}, " ")
}

func TestEventsAndHealth(t *testing.T) {
	d := startDaemon(t)
	c := ctx(t)
	stream, err := d.ctrs.Events(c, &quiltv1.EventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	r := d.run(t, argv("true"))
	if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: r.id}); err != nil {
		t.Fatal(err)
	}
	var types []string
	for len(types) < 5 {
		e, err := stream.Recv()
		if err != nil {
			t.Fatalf("events: %v (got %v)", err, types)
		}
		if e.Id == r.id || e.Type == "import" {
			types = append(types, e.Type)
		}
	}
	if strings.Join(types, ",") != "import,create,start,exit,remove" {
		t.Errorf("events: %v", types)
	}
	h, err := d.sys.Health(ctx(t), &quiltv1.HealthRequest{})
	if err != nil || !h.Serving || h.Images != 1 || h.Containers != 0 {
		t.Errorf("health: %v %v", h, err)
	}
	v, err := d.sys.Version(ctx(t), &quiltv1.VersionRequest{})
	if err != nil || v.ApiVersion != "quilt.v1" || v.RuntimeSpecVersion == "" {
		t.Errorf("version: %v %v", v, err)
	}
}

func TestTwoDaemons(t *testing.T) {
	a, b := startDaemon(t), startDaemon(t)
	ca := a.runDetached(t, argv("sleep", "60"))
	cb := b.runDetached(t, argv("sleep", "60"))
	for _, x := range []struct {
		d    *daemon
		mine string
	}{{a, ca.Id}, {b, cb.Id}} {
		list, err := x.d.ctrs.List(ctx(t), &quiltv1.ListRequest{All: true})
		if err != nil || len(list.Containers) != 1 || list.Containers[0].Id != x.mine {
			t.Errorf("daemon sees %v, %v; want only %s", list, err, x.mine)
		}
	}
	// A third daemon on a's state directory is refused.
	out, err := runQuiltd("--address", filepath.Join(a.dir, "other.sock"), "--root", a.root, "--state", a.state)
	if err == nil || !strings.Contains(out, "another quiltd uses state directory") {
		t.Errorf("a second daemon on one state dir: %v\n%s", err, out)
	}
}

// importImage imports an image and returns it with the progress phases seen.
func (d *daemon) importImage(t *testing.T, req *quiltv1.ImportRequest) (*quiltv1.Image, map[string]bool) {
	t.Helper()
	stream, err := d.images.Import(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	var img *quiltv1.Image
	phases := map[string]bool{}
	for {
		p, err := stream.Recv()
		if err == io.EOF {
			return img, phases
		}
		if err != nil {
			t.Fatalf("import %s: %v", req.Path, err)
		}
		phases[p.Phase] = true
		if p.Image != nil {
			img = p.Image
		}
	}
}
