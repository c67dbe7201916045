package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var semver = regexp.MustCompile(`^\d+\.\d+\.\d+`)

// TestLifecycle walks one container through create, start, kill and delete,
// checking the state JSON and the pid file at each step.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("pause"))
	id := h.id()
	pidFile := filepath.Join(h.dir, "pid")
	cr := h.create(b, id, "--pid-file", pidFile)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}

	raw := readFile(pidFile)
	pid, err := strconv.Atoi(raw)
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %s holds %q, want a bare pid (no newline)", pidFile, raw)
	}
	s := h.state(id)
	if s.Status != "created" {
		t.Errorf("after create: status %q, want created", s.Status)
	}
	if s.Pid != pid {
		t.Errorf("state pid %d, pid file %d", s.Pid, pid)
	}
	if !semver.MatchString(s.OCIVersion) {
		t.Errorf("ociVersion %q is not a version", s.OCIVersion)
	}
	if s.ID != id {
		t.Errorf("id %q, want %q", s.ID, id)
	}
	if s.Bundle != b.Dir {
		t.Errorf("bundle %q, want %q", s.Bundle, b.Dir)
	}
	if want := filepath.Join(b.Dir, "rootfs"); s.Rootfs != want {
		t.Errorf("rootfs %q, want %q", s.Rootfs, want)
	}
	if got := s.Annotations["org.quilt.test"]; got != t.Name() {
		t.Errorf("annotations %v, want org.quilt.test=%s", s.Annotations, t.Name())
	}
	if c, err := time.Parse(time.RFC3339Nano, s.Created); err != nil || time.Since(c) > time.Minute || time.Since(c) < -time.Minute {
		t.Errorf("created %q is not a recent RFC 3339 time (%v)", s.Created, err)
	}
	if s.Owner == nil {
		t.Error("state has no owner")
	}
	if !alive(pid) {
		t.Fatalf("created container's pid %d is not alive", pid)
	}
	time.Sleep(300 * time.Millisecond)
	if out := readFile(cr.outPath); out != "" {
		t.Fatalf("the process ran before start: %q", out)
	}

	h.mustExec("start", id)
	waitFile(t, cr.outPath, "ready")
	s = h.state(id)
	if s.Status != "running" || s.Pid != pid {
		t.Errorf("after start: status %q pid %d, want running %d", s.Status, s.Pid, pid)
	}
	if c := comm(pid); c != "testinit" {
		t.Errorf("pid %d runs %q, want testinit", pid, c)
	}
	// What the leftover checks look for is there while the container runs.
	if len(cgroupDirs(b.cgroup)) == 0 {
		t.Errorf("no cgroup %s for the container", b.cgroup)
	}
	if p := containerProcesses(b.Dir, []*bundle{b}); !slices.Contains(p, pid) {
		t.Errorf("processes in the bundle %v, want %d", p, pid)
	}

	h.mustExec("kill", id, "KILL")
	h.waitStatus(id, "stopped")
	if alive(pid) {
		t.Errorf("pid %d alive after the container stopped", pid)
	}
	h.mustExec("delete", id)
	wantError(t, h.exec("state", id), id)
	h.checkNothingLeft()
}

// TestBundlePath checks that --bundle defaults to the working directory and
// that a relative bundle is reported as an absolute path.
func TestBundlePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		dir  func(b *bundle) string
		args func(b *bundle) []string
	}{
		{"cwd", func(b *bundle) string { return b.Dir }, func(*bundle) []string { return nil }},
		{"relative", func(b *bundle) string { return filepath.Dir(b.Dir) },
			func(b *bundle) []string { return []string{"--bundle", filepath.Base(b.Dir)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.bundle(testinit("pause"))
			id := h.id()
			args := append(append([]string{"create"}, tc.args(b)...), id)
			if r := h.execOpts(opts{dir: tc.dir(b)}, args...); r.code != 0 {
				t.Fatalf("%v", r)
			}
			if s := h.state(id); s.Bundle != b.Dir {
				t.Errorf("bundle %q, want %q", s.Bundle, b.Dir)
			}
			h.mustExec("delete", "--force", id)
		})
	}
}

// TestStoppedWithoutSupervisor checks that a container whose process exits
// on its own, with no runtime process left to wait for it (its init may
// linger as a zombie), is reported stopped and can be deleted without
// --force.
func TestStoppedWithoutSupervisor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("exit", "0"))
	id := h.id()
	if r := h.create(b, id); r.code != 0 {
		t.Fatalf("%v", r)
	}
	h.mustExec("start", id)
	s := h.waitStatus(id, "stopped")
	if s.ID != id || s.Bundle != b.Dir {
		t.Errorf("stopped state %+v", s)
	}
	h.mustExec("delete", id)
	h.checkNothingLeft()
}

// TestKillSignal sends SIGTERM in each accepted spelling (and by default)
// to a process that traps it.
func TestKillSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []string{"", "TERM", "SIGTERM", "15"} {
		t.Run("sig="+sig, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := h.bundle(testinit("trap", "0"))
			id := h.id()
			cr := h.create(b, id)
			if cr.code != 0 {
				t.Fatalf("%v", cr)
			}
			h.mustExec("start", id)
			waitFile(t, cr.outPath, "ready")
			args := []string{"kill", id}
			if sig != "" {
				args = append(args, sig)
			}
			h.mustExec(args...)
			h.waitStatus(id, "stopped")
			waitFile(t, cr.outPath, "got SIGTERM")
			h.mustExec("delete", id)
		})
	}
}

// TestKillCreated checks that kill of a created container delivers the
// signal: the container stops.
func TestKillCreated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("pause"))
	id := h.id()
	if r := h.create(b, id); r.code != 0 {
		t.Fatalf("%v", r)
	}
	h.mustExec("kill", id, "KILL")
	h.waitStatus(id, "stopped")
	h.mustExec("delete", id)
}

// TestKillAll checks that kill --all signals every process of the
// container, not only its init: here init (a shell, pid 1, which ignores
// SIGTERM) sees its trapping child exit.
func TestKillAll(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(shell("/bin/testinit trap 0 & wait; echo child-done; exec /bin/testinit pause"))
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	h.mustExec("start", id)
	waitFile(t, cr.outPath, "ready")
	h.mustExec("kill", "--all", id, "TERM")
	out := waitFile(t, cr.outPath, "child-done")
	if !strings.Contains(out, "got SIGTERM") {
		t.Errorf("child did not trap SIGTERM: %q", out)
	}
	if s := h.state(id); s.Status != "running" {
		t.Errorf("status %q after kill --all TERM, want running (init ignores TERM)", s.Status)
	}
}

// TestRunExitStatus checks that run passes the container's exit status
// through, 128+9 for SIGKILL, and removes the container.
func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		kill bool
		want int
	}{
		{"exit0", testinit("echo", "hello"), false, 0},
		{"exit3", testinit("exit", "3"), false, 3},
		{"sigkill", testinit("pause"), true, 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := h.bundle(tc.args)
			id := h.id()
			run := h.background(opts{}, "run", "--bundle", b.Dir, id)
			if tc.kill {
				waitFile(t, run.out, "ready")
				h.mustExec("kill", id, "KILL")
			}
			r := run.wait()
			if r.code != tc.want {
				t.Fatalf("%v\nwant exit %d", r, tc.want)
			}
			if tc.name == "exit0" && r.stdout != "hello\n" {
				t.Errorf("stdout %q, want the container's hello", r.stdout)
			}
			wantError(t, h.exec("state", id), id)
			h.checkNothingLeft()
		})
	}
}

// TestRunForwardsSignals sends SIGTERM to a foreground run; the container
// traps it and run exits with the container's status.
func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("trap", "42"))
	id := h.id()
	run := h.background(opts{}, "run", "--bundle", b.Dir, id)
	waitFile(t, run.out, "ready")
	if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := run.wait()
	if r.code != 42 {
		t.Fatalf("%v\nwant exit 42", r)
	}
	if !strings.Contains(r.stdout, "got SIGTERM") {
		t.Errorf("container output %q, want got SIGTERM", r.stdout)
	}
}

// TestRunDetach checks that run --detach returns with the container running.
func TestRunDetach(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("pause"))
	id := h.id()
	pidFile := filepath.Join(h.dir, "pid")
	r := h.runFg(b, id, "--detach", "--pid-file", pidFile)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	waitFile(t, r.outPath, "ready")
	s := h.state(id)
	if s.Status != "running" {
		t.Errorf("status %q, want running", s.Status)
	}
	if raw := readFile(pidFile); raw != strconv.Itoa(s.Pid) {
		t.Errorf("pid file %q, state pid %d", raw, s.Pid)
	}
	h.mustExec("kill", id, "KILL")
	h.waitStatus(id, "stopped")
	h.mustExec("delete", id)
	h.checkNothingLeft()
}

// TestRunKeep checks that run --keep leaves the stopped container, which
// a plain delete then removes.
func TestRunKeep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("exit", "0"))
	id := h.id()
	if r := h.runFg(b, id, "--keep"); r.code != 0 {
		t.Fatalf("%v", r)
	}
	if s := h.state(id); s.Status != "stopped" {
		t.Errorf("status %q, want stopped", s.Status)
	}
	h.mustExec("delete", id)
	h.checkNothingLeft()
}

// TestNoPivot runs a container with create --no-pivot.
func TestNoPivot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(shell("/bin/testinit cwd; ls /bin/testinit"))
	id := h.id()
	cr := h.create(b, id, "--no-pivot")
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	h.mustExec("start", id)
	h.waitStatus(id, "stopped")
	if out := readFile(cr.outPath); out != "/\n/bin/testinit\n" {
		t.Errorf("output %q, want the rootfs's / and /bin/testinit", out)
	}
}

// TestNoNewKeyring checks that a container gets its own session keyring,
// and inherits the caller's with --no-new-keyring.
func TestNoNewKeyring(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	own := hostOutput(t, testinitBin, "keyring")
	for _, tc := range []struct {
		flags []string
		same  bool
	}{{nil, false}, {[]string{"--no-new-keyring"}, true}} {
		b := h.bundle(testinit("keyring"))
		id := h.id()
		cr := h.create(b, id, tc.flags...)
		if cr.code != 0 {
			t.Fatalf("%v", cr)
		}
		h.mustExec("start", id)
		h.waitStatus(id, "stopped")
		got := readFile(cr.outPath)
		if !strings.HasPrefix(got, "session=") {
			t.Fatalf("create %v: container printed %q", tc.flags, got)
		}
		if (got == own) != tc.same {
			t.Errorf("create %v: container keyring %q, caller's %q; want same=%v", tc.flags, got, own, tc.same)
		}
		h.mustExec("delete", id)
	}
}

// TestPreserveFDs passes an extra descriptor with --preserve-fds 1 and
// checks that without it the container does not get it. (Without it fd 3
// may still be open: Go's runtime keeps a cgroup file open.)
func TestPreserveFDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const want = "read=passed through\n"
	for _, tc := range []struct {
		flags  []string
		passed bool
	}{
		{[]string{"--preserve-fds", "1"}, true},
		{nil, false},
	} {
		p := filepath.Join(h.dir, "extra")
		if err := os.WriteFile(p, []byte("passed through\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		b := h.bundle(testinit("fdread", "3"))
		id := h.id()
		args := append(append([]string{"create", "--bundle", b.Dir}, tc.flags...), id)
		cr := h.execOpts(opts{extra: []*os.File{f}}, args...)
		f.Close()
		if cr.code != 0 {
			t.Fatalf("%v", cr)
		}
		h.mustExec("start", id)
		h.waitStatus(id, "stopped")
		if got := readFile(cr.outPath); (got == want) != tc.passed {
			t.Errorf("create %v: container read %q from fd 3, want passed=%v (stderr %q)", tc.flags, got, tc.passed, readFile(cr.errPath))
		}
		h.mustExec("delete", id)
	}
}

// TestConfigChangeAfterCreate checks that editing config.json after create
// changes nothing: start runs the process that create saw.
func TestConfigChangeAfterCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("echo", "as created"))
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	b.Spec.Process.Args = testinit("echo", "edited")
	b.save(t)
	h.mustExec("start", id)
	h.waitStatus(id, "stopped")
	if got := readFile(cr.outPath); got != "as created\n" {
		t.Errorf("container printed %q, want the created config's %q", got, "as created\n")
	}
	h.mustExec("delete", id)
}
