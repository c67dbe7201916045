package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookKinds in the order the spec runs them.
var hookKinds = []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

// withHooks gives the config one hook of each kind. Each appends its kind
// to <dir>/order, saves its stdin to <dir>/<kind>.json and its GOMAXPROCS
// (or "unset") to <dir>/<kind>.gomaxprocs. dir is also
// bind-mounted at /hooks, where startContainer (which runs in the
// container, after pivot_root) finds it; createContainer runs in the
// container's mount namespace before pivot_root, so it sees the host path.
// fail names a kind whose hook exits 1 after recording.
func withHooks(dir, fail string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		hook := func(kind, d string) []specs.Hook {
			script := fmt.Sprintf("cat > %s/%s.json; echo ${GOMAXPROCS-unset} > %s/%s.gomaxprocs; echo %s >> %s/order", d, kind, d, kind, kind, d)
			if kind == fail {
				script += "; exit 1"
			}
			return []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", script}}}
		}
		s.Hooks = &specs.Hooks{
			Prestart:        hook("prestart", dir),
			CreateRuntime:   hook("createRuntime", dir),
			CreateContainer: hook("createContainer", dir),
			StartContainer:  hook("startContainer", "/hooks"),
			Poststart:       hook("poststart", dir),
			Poststop:        hook("poststop", dir),
		}
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: "/hooks", Type: "bind", Source: dir, Options: []string{"rbind", "rw"},
		})
	}
}

// hookOrder is the list of hooks that have run so far.
func hookOrder(dir string) []string {
	return strings.Fields(readFile(filepath.Join(dir, "order")))
}

// hookState parses the state a hook received on stdin.
func hookState(t *testing.T, dir, kind string) state {
	t.Helper()
	raw := readFile(filepath.Join(dir, kind+".json"))
	var s state
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("%s hook: stdin is not a state: %v: %q", kind, err, raw)
	}
	return s
}

// TestHooks runs a container with one hook of each kind and checks that
// each runs once, in its phase (create, start, delete), in the spec's
// order, with the container's state on stdin.
func TestHooks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	b := h.bundle(testinit("pause"), withHooks(dir, ""))
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	created := hookOrder(dir)
	if want := []string{"prestart", "createRuntime", "createContainer"}; !slices.Equal(created[:min(3, len(created))], want) {
		t.Errorf("hooks run by create: %v, want %v first", created, want)
	}
	if slices.Contains(created, "startContainer") {
		t.Errorf("startContainer ran during create: %v", created)
	}
	pid := h.state(id).Pid

	h.mustExec("start", id)
	waitFile(t, cr.outPath, "ready")
	started := hookOrder(dir)
	if !slices.Contains(started, "startContainer") || !slices.Contains(started, "poststart") {
		t.Errorf("hooks run by start: %v, want startContainer and poststart", started)
	}
	if slices.Contains(started, "poststop") {
		t.Errorf("poststop ran before delete: %v", started)
	}

	h.mustExec("kill", id, "KILL")
	h.waitStatus(id, "stopped")
	h.mustExec("delete", id)
	all := hookOrder(dir)
	if len(all) != len(hookKinds) {
		t.Errorf("hooks ran %v, want each of %v once", all, hookKinds)
	}
	// runc runs poststart during create; the rest must keep the spec's order.
	withoutPoststart := slices.DeleteFunc(slices.Clone(all), func(k string) bool { return k == "poststart" })
	wantOrder := slices.DeleteFunc(slices.Clone(hookKinds), func(k string) bool { return k == "poststart" })
	if !slices.Equal(withoutPoststart, wantOrder) {
		t.Errorf("hook order %v, want %v", all, hookKinds)
	}

	for _, kind := range hookKinds {
		s := hookState(t, dir, kind)
		if s.ID != id || s.Bundle != b.Dir {
			t.Errorf("%s hook got id %q bundle %q, want %q %q", kind, s.ID, s.Bundle, id, b.Dir)
		}
		if s.Annotations["org.quilt.test"] != t.Name() {
			t.Errorf("%s hook got annotations %v", kind, s.Annotations)
		}
		if s.Status == "" {
			t.Errorf("%s hook got no status", kind)
		}
		switch kind {
		case "prestart", "createRuntime", "poststart":
			if s.Pid != pid {
				t.Errorf("%s hook got pid %d, want %d", kind, s.Pid, pid)
			}
		case "createContainer", "startContainer":
			// runc gives the hooks that run in the container its pid there.
			if s.Pid != pid && s.Pid != 1 {
				t.Errorf("%s hook got pid %d, want %d (or 1)", kind, s.Pid, pid)
			}
		}
		// The hooks that run beside the runtime get its environment, not
		// what it may set for the container's init process.
		if kind != "createContainer" && kind != "startContainer" {
			want, ok := os.LookupEnv("GOMAXPROCS")
			if !ok {
				want = "unset"
			}
			if got := strings.TrimSpace(readFile(filepath.Join(dir, kind+".gomaxprocs"))); got != want {
				t.Errorf("%s hook got GOMAXPROCS %q, want %q", kind, got, want)
			}
		}
	}
}

// TestHookStatus checks the status hooks see: created for the hooks of
// create, running for poststart, which runs during start.
func TestHookStatus(t *testing.T) {
	t.Parallel()
	quiltOnly(t, `passes prestart "creating" and runs poststart during create with "created"`)
	h := newHarness(t)
	dir := t.TempDir()
	b := h.bundle(testinit("pause"), withHooks(dir, ""))
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	if got, want := hookOrder(dir), []string{"prestart", "createRuntime", "createContainer"}; !slices.Equal(got, want) {
		t.Errorf("hooks run by create: %v, want %v", got, want)
	}
	h.mustExec("start", id)
	if got, want := hookOrder(dir)[3:], []string{"startContainer", "poststart"}; !slices.Equal(got, want) {
		t.Errorf("hooks run by start: %v, want %v", got, want)
	}
	h.mustExec("delete", "--force", id)
	for kind, want := range map[string]string{
		"prestart": "created", "createRuntime": "created", "createContainer": "created",
		"poststart": "running",
	} {
		if s := hookState(t, dir, kind); s.Status != want {
			t.Errorf("%s hook got status %q, want %q", kind, s.Status, want)
		}
	}
}

// TestFailingHooks checks that a failing poststart or poststop hook only
// warns: the command succeeds and the following hooks still run.
func TestFailingHooks(t *testing.T) {
	t.Parallel()
	quiltOnly(t, "fails create on a failing poststart hook and delete on a failing poststop hook")
	for _, kind := range []string{"poststart", "poststop"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			dir := t.TempDir()
			b := h.bundle(testinit("pause"), withHooks(dir, kind))
			id := h.id()
			cr := h.create(b, id)
			if cr.code != 0 {
				t.Fatalf("%v", cr)
			}
			h.mustExec("start", id)
			waitFile(t, cr.outPath, "ready")
			if s := h.state(id); s.Status != "running" {
				t.Errorf("status %q after start, want running", s.Status)
			}
			h.mustExec("kill", id, "KILL")
			h.waitStatus(id, "stopped")
			h.mustExec("delete", id)
			if got := hookOrder(dir); !slices.Equal(got, hookKinds) {
				t.Errorf("hooks ran %v, want %v", got, hookKinds)
			}
			h.checkNothingLeft()
		})
	}
}
