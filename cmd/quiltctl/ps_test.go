package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// threeContainers stores a running, an exited and a created container, with
// times in minutes and hours, so that the ages in tables do not depend on
// how fast the test runs.
func threeContainers(f *fakeDaemon) {
	now := time.Now()
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(now.Add(-d)) }
	f.addContainer(&quiltv1.Container{
		Id: digest("web"), Name: "web", Image: "busybox", Status: quiltv1.Status_STATUS_RUNNING,
		Command: []string{"httpd", "-f", "-p", "8080"}, CreatedAt: ts(10 * time.Minute), StartedAt: ts(5 * time.Minute),
		Config: &quiltv1.ContainerConfig{Labels: map[string]string{"app": "web"}, Resources: &quiltv1.Resources{Memory: 256 << 20}},
	})
	f.addContainer(&quiltv1.Container{
		Id: digest("job"), Name: "job", Image: "alpine", Status: quiltv1.Status_STATUS_EXITED, ExitCode: 3,
		Command: []string{"sh", "-c", "echo hello; exit 3"}, CreatedAt: ts(3 * time.Hour), StartedAt: ts(3 * time.Hour), FinishedAt: ts(2 * time.Hour),
	})
	f.addContainer(&quiltv1.Container{
		Id: digest("new"), Name: "new", Image: "busybox", Status: quiltv1.Status_STATUS_CREATED,
		Command: []string{"true"}, CreatedAt: ts(90 * time.Second),
	})
}

func TestPsTable(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ps"}, `
CONTAINER ID   NAME   IMAGE     COMMAND              CREATED          STATUS
` + shortID(digest("web")) + `   web    busybox   "httpd -f -p 8080"   10 minutes ago   Up 5 minutes
`},
		{[]string{"ps", "-a"}, `
CONTAINER ID   NAME   IMAGE     COMMAND                  CREATED              STATUS
` + shortID(digest("new")) + `   new    busybox   "true"                   About a minute ago   Created
` + shortID(digest("web")) + `   web    busybox   "httpd -f -p 8080"       10 minutes ago       Up 5 minutes
` + shortID(digest("job")) + `   job    alpine    "sh -c 'echo hello; …"   3 hours ago          Exited (3) 2 hours ago
`},
		{[]string{"ps", "-aq"}, `
` + shortID(digest("new")) + `
` + shortID(digest("web")) + `
` + shortID(digest("job")) + `
`},
		{[]string{"ps", "-q", "--no-trunc", "--filter", "status=exited"}, "\n" + digest("job") + "\n"},
	} {
		out, stderr, code := quiltctl(t, sock, nil, tc.args...)
		if want := strings.TrimPrefix(tc.want, "\n"); out != want || code != 0 {
			t.Errorf("quiltctl %q = (%d, stderr %q):\n%s\nwant:\n%s", tc.args, code, stderr, out, want)
		}
	}
}

func TestPsJSON(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	out, stderr, code := quiltctl(t, sock, nil, "ps", "-a", "--format", "json")
	if code != 0 {
		t.Fatalf("ps: status %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one per container:\n%s", len(lines), out)
	}
	for i, line := range lines {
		var c quiltv1.Container
		if err := protojson.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		if !proto.Equal(&c, f.containers[i]) {
			t.Errorf("line %d is %v, want %v", i+1, &c, f.containers[i])
		}
		var generic map[string]any
		if err := json.Unmarshal([]byte(line), &generic); err != nil || generic["status"] == nil || generic["exitCode"] == nil {
			t.Errorf("line %d: %v; want every field, unset ones too (status, exitCode)", i+1, err)
		}
	}
}

func TestPsFilters(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	out, _, code := quiltctl(t, sock, nil, "ps", "-q", "--filter", "label=app=web", "--filter", "name=we", "-f", "status=running", "--filter", "image=busybox")
	if code != 0 || out != shortID(digest("web"))+"\n" {
		t.Errorf("ps with filters = (%q, %d), want web", out, code)
	}
	want := &quiltv1.ListRequest{Labels: map[string]string{"app": "web"}, Name: "we", Status: []quiltv1.Status{quiltv1.Status_STATUS_RUNNING}, Image: "busybox"}
	if got := recorded[*quiltv1.ListRequest](f); len(got) != 1 || !proto.Equal(got[0], want) {
		t.Errorf("List requests %v, want %v", got, want)
	}
}

func TestInspect(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	img := f.addImage("busybox")
	out, stderr, code := quiltctl(t, sock, nil, "inspect", "web", "busybox", "nope")
	if code != 1 || stderr != "quiltctl: no such container or image: nope\n" {
		t.Errorf("inspect = (%q, %d), want the error for nope only", stderr, code)
	}
	var got []json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 2 {
		t.Fatalf("inspect printed %q (%v), want an array of two", out, err)
	}
	var c quiltv1.Container
	var i quiltv1.Image
	if protojson.Unmarshal(got[0], &c) != nil || c.Name != "web" || protojson.Unmarshal(got[1], &i) != nil || i.Id != img.Id {
		t.Errorf("inspect printed %s, want web then the busybox image", out)
	}
	if !strings.Contains(out, "\n    {\n        \"id\": ") {
		t.Errorf("inspect printed %s, want indented JSON", out)
	}
}

func TestImages(t *testing.T) {
	f, sock := startFake(t)
	img := f.addImage("/srv/images/busybox.tar", "busybox:latest")
	out, _, code := quiltctl(t, sock, nil, "images")
	want := "ID             NAMES                                     FORMAT             SIZE   IMPORTED\n" +
		shortID(img.Id) + "   /srv/images/busybox.tar, busybox:latest   OCI image layout   5MiB   2 minutes ago\n"
	if code != 0 || out != want {
		t.Errorf("images = (%d)\n%s\nwant:\n%s", code, out, want)
	}
	if out, _, _ := quiltctl(t, sock, nil, "images", "-q"); out != img.Id+"\n" {
		t.Errorf("images -q = %q, want the whole id", out)
	}
	if out, _, _ := quiltctl(t, sock, nil, "images", "--format", "json"); !strings.HasPrefix(out, `{"id":"`+img.Id+`","names":["/srv/images/busybox.tar","busybox:latest"]`) {
		t.Errorf("images --format json = %q", out)
	}
	out, stderr, code := quiltctl(t, sock, nil, "rmi", "busybox:latest")
	if code != 0 || out != "Deleted: "+img.Id+"\n" {
		t.Errorf("rmi = (%q, %q, %d)", out, stderr, code)
	}
}

func TestImport(t *testing.T) {
	f, sock := startFake(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("busybox.tar", make([]byte, 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := quiltctl(t, sock, nil, "import", "--name", "busybox:1", "--ref", "latest", "busybox.tar")
	path := filepath.Join(dir, "busybox.tar")
	if want := "sha256:" + digest(path) + "\n"; code != 0 || out != want {
		t.Errorf("import printed (%q, %d), want the id %q", out, code, want)
	}
	if want := "reading\nunpacking layer 1/2\nunpacking layer 2/2\ndone\n"; stderr != want {
		t.Errorf("progress, not on a terminal: %q, want a line per step %q", stderr, want)
	}
	want := &quiltv1.ImportRequest{Path: path, Ref: "latest", Name: "busybox:1"}
	if got := recorded[*quiltv1.ImportRequest](f); len(got) != 1 || !proto.Equal(got[0], want) {
		t.Errorf("Import requests %v, want %v", got, want)
	}
	if _, stderr, code := quiltctl(t, sock, nil, "import", "-q", "missing.tar"); code != 1 || stderr != "quiltctl: no image at "+filepath.Join(dir, "missing.tar")+"\n" {
		t.Errorf("import of a missing file = (%q, %d)", stderr, code)
	}
}

func TestLifecycleCommands(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	for _, tc := range []struct {
		args []string
		out  string
		req  proto.Message
	}{
		{[]string{"stop", "web"}, "web\n", &quiltv1.StopRequest{Id: "web"}},
		{[]string{"stop", "-t", "0", "--signal", "INT", "web"}, "web\n", &quiltv1.StopRequest{Id: "web", Timeout: proto.Int32(0), Signal: "INT"}},
		{[]string{"kill", "web"}, "web\n", &quiltv1.KillRequest{Id: "web", Signal: "KILL"}},
		{[]string{"kill", "-s", "HUP", "web"}, "web\n", &quiltv1.KillRequest{Id: "web", Signal: "HUP"}},
		{[]string{"wait", "job"}, "3\n", &quiltv1.WaitRequest{Id: "job"}},
		{[]string{"start", "new"}, "new\n", &quiltv1.StartRequest{Id: "new"}},
		{[]string{"rm", "-f", "web"}, "web\n", &quiltv1.RemoveRequest{Id: "web", Force: true}},
	} {
		before := len(f.all())
		out, stderr, code := quiltctl(t, sock, nil, tc.args...)
		if out != tc.out || code != 0 {
			t.Errorf("quiltctl %q = (%q, %q, %d), want %q", tc.args, out, stderr, code, tc.out)
		}
		if got := f.all()[before:]; len(got) != 1 || !proto.Equal(got[0], tc.req) {
			t.Errorf("quiltctl %q sent %v, want %v", tc.args, got, tc.req)
		}
	}
}

func TestStats(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	// Every running container when none is named; half a CPU and a quarter
	// of the memory limit, as the fake reports.
	out, stderr, code := quiltctl(t, sock, nil, "stats", "--no-stream")
	want := "CONTAINER ID   NAME   CPU %    MEM USAGE / LIMIT   MEM %    PIDS\n" +
		shortID(digest("web")) + "   web    50.00%   64MiB / 256MiB      25.00%   3\n"
	if code != 0 || out != want {
		t.Errorf("stats = (%q, %d)\n%s\nwant:\n%s", stderr, code, out, want)
	}
	out, _, code = quiltctl(t, sock, nil, "stats", "--no-stream", "--format", "json", "web")
	var st quiltv1.ContainerStats
	if err := protojson.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.MemoryUsage != 64<<20 {
		t.Errorf("stats --format json = (%q, %d, %v)", out, code, err)
	}
	_, stderr, code = quiltctl(t, sock, nil, "stats", "--no-stream", "job")
	if code != 1 || stderr != "quiltctl: container job is not running\n" {
		t.Errorf("stats of a stopped container = (%q, %d)", stderr, code)
	}
}

func TestEventsAndVersion(t *testing.T) {
	f, sock := startFake(t)
	out, _, code := quiltctl(t, sock, nil, "events")
	want := "2026-11-28T13:50:00.000000000Z create aaa (name=web)\n" +
		"2026-11-28T13:50:01.000000000Z exit aaa (name=web, exitCode=3, image=busybox)\n"
	if code != 0 || out != want {
		t.Errorf("events = %q, want %q", out, want)
	}
	out, _, _ = quiltctl(t, sock, nil, "events", "--filter", "type=exit", "--filter", "container=web", "--format", "json")
	if !strings.HasPrefix(out, `{"type":"exit","id":"aaa","name":"web","time":"2026-11-28T13:50:01Z","exitCode":3`) || strings.Count(out, "\n") != 1 {
		t.Errorf("events --format json = %q", out)
	}
	wantReq := &quiltv1.EventsRequest{Id: "web", Types: []string{"exit"}}
	if got := recorded[*quiltv1.EventsRequest](f); len(got) != 2 || !proto.Equal(got[1], wantReq) {
		t.Errorf("Events requests %v, want %v last", got, wantReq)
	}

	out, _, code = quiltctl(t, sock, nil, "version")
	if code != 0 || !strings.Contains(out, "Client:\n Version:      dev\n") || !strings.Contains(out, "\nServer:\n Version:      9.9.9\n Commit:       f00d\n API version:  v1\n") {
		t.Errorf("version = %q", out)
	}
	out, _, _ = quiltctl(t, sock, nil, "version", "--format", "json")
	var v struct {
		Client struct{ Version string }
		Server struct{ Version, APIVersion string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Client.Version != "dev" || v.Server.Version != "9.9.9" {
		t.Errorf("version --format json = %q (%v)", out, err)
	}
}
