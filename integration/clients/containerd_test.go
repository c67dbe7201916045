package clients

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ctrNamespace is the containerd namespace of the ctr tests; containerd
// puts a task's cgroup at /<namespace>/<id>.
const ctrNamespace = "quilt-clients-ctr"

// containerdClient is a private containerd driven with ctr, each task run
// by the runc shim with `--runc-binary` set to the runtime (docs/containerd.md).
type containerdClient struct {
	w        *workspace
	ctr      tool     // ctr -a SOCKET -n NAMESPACE
	runOpts  []string // --runc-binary WRAPPER --runc-root ROOT --fifo-dir DIR
	taskRoot string   // the --root the shim gives the runtime
}

// startContainerd starts a private containerd with its CRI plugin off.
func startContainerd(t *testing.T, w *workspace, bins map[string]string) *containerdClient {
	t.Helper()
	sock := runContainerd(t, w, bins["containerd"], `disabled_plugins = ["io.containerd.grpc.v1.cri"]`)
	c := &containerdClient{
		w:        w,
		ctr:      tool{bin: bins["ctr"], args: []string{"-a", sock, "-n", ctrNamespace}, dir: w.dir},
		runOpts:  []string{"--runc-binary", w.wrapper, "--runc-root", w.path("runc-root"), "--fifo-dir", w.path("fifo")},
		taskRoot: w.path("runc-root", ctrNamespace),
	}
	t.Cleanup(func() { c.removeAll(t) }) // runs before containerd stops
	return c
}

// runContainerd starts containerd with a private root, state, sockets and
// plugin directory in w/containerd, and the extra configuration; it
// returns the address of its socket once it answers there. The test's
// cleanup stops it.
func runContainerd(t *testing.T, w *workspace, bin, extra string) string {
	t.Helper()
	sock := w.path("containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
%s
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, w.path("containerd", "root"), w.path("containerd", "state"), extra, sock, sock+".ttrpc", w.path("containerd", "opt"))
	cfg := w.writeFile(t, "containerd.toml", config)
	d := startDaemon(t, w.path("containerd.log"), nil, w.dir, bin, "--config", cfg)
	t.Cleanup(func() {
		if err := d.stop(20 * time.Second); err != nil {
			t.Errorf("stop containerd: %v", err)
		}
		if t.Failed() {
			t.Log(d.logTail(40))
		}
	})
	// The socket answers gRPC once containerd has loaded its plugins.
	probe := tool{bin: "ctr", args: []string{"-a", sock}, dir: w.dir}
	d.waitReady(t, waitTimeout, func() error { return errText(probe.run(t, "version")) })
	return sock
}

// removeAll kills and deletes every task and container, for the cleanup.
func (c *containerdClient) removeAll(t *testing.T) {
	for _, id := range strings.Fields(c.ctr.run(t, "task", "ls", "-q").stdout) {
		c.ctr.run(t, "task", "kill", "-a", "-s", "SIGKILL", id)
		c.ctr.run(t, "task", "delete", "-f", id)
	}
	for _, id := range strings.Fields(c.ctr.run(t, "container", "ls", "-q").stdout) {
		c.ctr.run(t, "container", "delete", id)
	}
}

// runArgs is `run` with the runtime options, opts, the image, the id and
// the command.
func (c *containerdClient) runArgs(opts []string, id string, cmd ...string) []string {
	args := append([]string{"run"}, c.runOpts...)
	args = append(append(args, opts...), busyboxRef, id)
	return append(args, cmd...)
}

// run runs a container to its end with `ctr run --rm`.
func (c *containerdClient) run(t *testing.T, opts []string, id string, cmd ...string) result {
	t.Helper()
	return c.ctr.run(t, c.runArgs(append([]string{"--rm"}, opts...), id, cmd...)...)
}

// task returns the pid and status of a task as `ctr task ls` shows them.
func (c *containerdClient) task(t *testing.T, id string) (int, string) {
	t.Helper()
	for _, line := range strings.Split(c.ctr.run(t, "task", "ls").stdout, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return pid, f[2]
		}
	}
	return 0, ""
}

// waitStatus waits for a task's status and returns its pid.
func (c *containerdClient) waitStatus(t *testing.T, id, status string) int {
	t.Helper()
	var pid int
	waitFor(t, waitTimeout, "task "+id+" "+status, func() (bool, string) {
		var st string
		pid, st = c.task(t, id)
		return st == status, "status " + st
	})
	return pid
}

// runDetached starts a task with `ctr run -d` and returns its pid once it
// runs.
func (c *containerdClient) runDetached(t *testing.T, opts []string, id string, cmd ...string) int {
	t.Helper()
	c.ctr.ok(t, c.runArgs(append([]string{"-d"}, opts...), id, cmd...)...)
	return c.waitStatus(t, id, "RUNNING")
}

// remove kills a task, deletes it and its container; it only reports
// errors, so that a failed subtest can defer it.
func (c *containerdClient) remove(t *testing.T, id string) {
	t.Helper()
	if _, st := c.task(t, id); st != "" && st != "STOPPED" {
		c.ctr.run(t, "task", "kill", "-s", "SIGKILL", id)
		if ok, seen := poll(limit(t, waitTimeout), func() (bool, string) {
			_, st := c.task(t, id)
			return st == "STOPPED" || st == "", "status " + st
		}); !ok {
			t.Errorf("task %s did not stop after SIGKILL: %s", id, seen)
		}
	}
	c.ctr.run(t, "task", "delete", id)
	if r := c.ctr.run(t, "container", "delete", id); r.code != 0 {
		t.Errorf("%v", r)
	}
}

func TestContainerd(t *testing.T) {
	needSuite(t)
	bins := needBinaries(t, "containerd", "ctr", "containerd-shim-runc-v2")
	w := newWorkspace(t, containerdEnv)
	c := startContainerd(t, w, bins)
	c.ctr.ok(t, "images", "import", suite.busyboxImage)

	t.Run("run", func(t *testing.T) {
		r := c.run(t, []string{"--env", "FOO=bar-baz", "--cwd", "/tmp"}, "qc-run", "sh", "-c", `echo "hello $FOO $(pwd)"`)
		if r.code != 0 || r.out() != "hello bar-baz /tmp" {
			t.Fatalf("want stdout %q: %v", "hello bar-baz /tmp", r)
		}
		if n := countCalls(w.calls(), "create", "--root "+c.taskRoot+" ", "qc-run"); n != 1 {
			t.Errorf("the shim called `%s --root %s create ... qc-run` %d times, want once", w.wrapper, c.taskRoot, n)
		}
	})

	t.Run("exit-code", func(t *testing.T) {
		if r := c.run(t, nil, "qc-exit", "sh", "-c", "exit 3"); r.code != 3 {
			t.Fatalf("want exit 3: %v", r)
		}
	})

	t.Run("tty", func(t *testing.T) {
		r := c.ctr.runTTY(t, c.runArgs([]string{"--rm", "-t"}, "qc-tty", "sh", "-c", "tty; test -t 0 && echo stdin-is-tty")...)
		if r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") || !strings.Contains(r.stdout, "stdin-is-tty") {
			t.Fatalf("want a terminal on stdin: %v", r)
		}
	})

	// A detached task that the next subtests exec into, list, pause and kill.
	const long = "qc-long"
	var longPid int
	t.Run("detached", func(t *testing.T) {
		longPid = c.runDetached(t, nil, long, "sleep", "1000")
	})
	needLong := func(t *testing.T) {
		if longPid == 0 {
			t.Skip("the detached task did not start")
		}
	}

	t.Run("exec", func(t *testing.T) {
		needLong(t)
		r := c.ctr.run(t, "task", "exec", "--exec-id", "e1", "--fifo-dir", w.path("fifo"), long, "sh", "-c", "echo from-exec; exit 5")
		if r.code != 5 || r.out() != "from-exec" {
			t.Fatalf("want stdout from-exec and exit 5: %v", r)
		}
	})

	t.Run("exec-tty", func(t *testing.T) {
		needLong(t)
		r := c.ctr.runTTY(t, "task", "exec", "-t", "--exec-id", "e2", "--fifo-dir", w.path("fifo"), long, "tty")
		if r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") {
			t.Fatalf("want a terminal: %v", r)
		}
	})

	t.Run("ps", func(t *testing.T) {
		needLong(t)
		out := c.ctr.ok(t, "task", "ps", long)
		if !containsField(out, strconv.Itoa(longPid)) {
			t.Fatalf("task ps does not list the init process %d:\n%s", longPid, out)
		}
	})

	t.Run("pause-resume", func(t *testing.T) {
		needLong(t)
		c.ctr.ok(t, "task", "pause", long)
		c.waitStatus(t, long, "PAUSED")
		if s, err := hostCgroupFile(longPid, "freezer", "freezer.state"); s != "FROZEN" {
			t.Fatalf("host freezer.state of a paused task: %q, %v", s, err)
		}
		c.ctr.ok(t, "task", "resume", long)
		c.waitStatus(t, long, "RUNNING")
		if s, err := hostCgroupFile(longPid, "freezer", "freezer.state"); s != "THAWED" {
			t.Fatalf("host freezer.state of a resumed task: %q, %v", s, err)
		}
	})

	t.Run("kill-sigkill", func(t *testing.T) {
		needLong(t)
		c.ctr.ok(t, "task", "kill", "-s", "SIGKILL", long)
		c.waitStatus(t, long, "STOPPED")
		r := c.ctr.run(t, "task", "delete", long)
		if !strings.Contains(r.stdout+r.stderr, "exit code 137") {
			t.Errorf("task delete should report exit code 137: %v", r)
		}
		c.ctr.ok(t, "container", "delete", long)
		if alive(longPid) {
			t.Errorf("process %d still runs", longPid)
		}
	})

	t.Run("kill-sigterm-trapped", func(t *testing.T) {
		b := c.ctr.start(t, c.runArgs([]string{"--rm"}, "qc-term", "sh", "-c", `trap "exit 7" TERM; while :; do sleep 0.1; done`)...)
		pid := c.waitStatus(t, "qc-term", "RUNNING")
		waitForTrap(t, pid, syscall.SIGTERM)
		c.ctr.ok(t, "task", "kill", "qc-term")
		if r := b.wait(t); r.code != 7 {
			t.Fatalf("want exit 7 from the TERM trap: %v", r)
		}
	})

	t.Run("kill-all", func(t *testing.T) {
		pid := c.runDetached(t, nil, "qc-all", "sh", "-c", "sleep 1000 & sleep 1000 & wait")
		defer c.remove(t, "qc-all")
		var pids []string
		waitFor(t, waitTimeout, "three processes", func() (bool, string) {
			out := c.ctr.run(t, "task", "ps", "qc-all").stdout
			pids = taskPids(out)
			return len(pids) == 3, out
		})
		c.ctr.ok(t, "task", "kill", "-a", "-s", "SIGKILL", "qc-all")
		c.waitStatus(t, "qc-all", "STOPPED")
		c.ctr.ok(t, "task", "delete", "qc-all")
		for _, p := range pids {
			if n, _ := strconv.Atoi(p); alive(n) {
				t.Errorf("process %d (init %d) survived kill --all", n, pid)
			}
		}
	})

	t.Run("resources", func(t *testing.T) {
		const id = "qc-res"
		pid := c.runDetached(t, []string{"--memory-limit", "33554432", "--cpu-quota", "50000", "--cpu-period", "100000"}, id, "sleep", "1000")
		defer c.remove(t, id)
		wantCgroup(t, pid, "memory", "memory.limit_in_bytes", "33554432")
		wantCgroup(t, pid, "cpu", "cpu.cfs_quota_us", "50000")
		if out := c.ctr.ok(t, "task", "metrics", id); !metricIs(out, "memory.limit_in_bytes", "33554432") {
			t.Errorf("task metrics do not show the memory limit:\n%s", out)
		}
		// 64 MiB do not fit under 32 MiB: the kernel kills the process.
		dd := func(execID string) result {
			return c.ctr.run(t, "task", "exec", "--exec-id", execID, "--fifo-dir", w.path("fifo"), id,
				"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
		}
		if r := dd("oom"); r.code != 137 {
			t.Errorf("want exit 137 of an exec that exceeds the memory limit: %v", r)
		}
		if s, _ := hostCgroupFile(pid, "memory", "memory.oom_control"); !strings.Contains(s, "oom_kill 1") {
			t.Errorf("host memory.oom_control should count one OOM kill:\n%s", s)
		}
		// ctr has no update: change the limits with the runtime, which the
		// shim's metrics then show, and the same allocation fits.
		rt := tool{bin: suite.runtime, args: []string{"--root", c.taskRoot}}
		rt.ok(t, "update", "--memory", "134217728", "--pids-limit", "50", id)
		wantCgroup(t, pid, "memory", "memory.limit_in_bytes", "134217728")
		wantCgroup(t, pid, "pids", "pids.max", "50")
		out := c.ctr.ok(t, "task", "metrics", id)
		if !metricIs(out, "memory.limit_in_bytes", "134217728") || !metricIs(out, "pids.limit", "50") {
			t.Errorf("task metrics do not show the updated limits:\n%s", out)
		}
		if r := dd("fits"); r.code != 0 {
			t.Errorf("64 MiB should fit under the updated limit: %v", r)
		}
	})

	t.Run("read-only", func(t *testing.T) {
		r := c.run(t, []string{"--read-only"}, "qc-ro", "sh", "-c", `touch /x 2>&1; echo "rc=$?"`)
		if !strings.Contains(r.stdout, "Read-only file system") || !strings.Contains(r.stdout, "rc=1") {
			t.Errorf("want a read-only rootfs: %v", r)
		}
		if r := c.run(t, nil, "qc-rw", "sh", "-c", `touch /x && echo written`); r.out() != "written" {
			t.Errorf("without --read-only the rootfs should be writable: %v", r)
		}
	})

	t.Run("bind-ro", func(t *testing.T) {
		share := w.path("share")
		w.writeFile(t, "share/f", "shared-file\n")
		r := c.run(t, []string{"--mount", "type=bind,src=" + share + ",dst=/share,options=rbind:ro"}, "qc-bind",
			"sh", "-c", `cat /share/f; touch /share/g 2>&1; echo "rc=$?"`)
		if !strings.HasPrefix(r.stdout, "shared-file\n") || !strings.Contains(r.stdout, "Read-only file system") {
			t.Errorf("want the host file through a read-only bind mount: %v", r)
		}
		if _, err := os.Stat(w.path("share", "g")); err == nil {
			t.Error("the container wrote through a read-only bind mount")
		}
	})

	t.Run("seccomp", func(t *testing.T) {
		status := []string{"grep", "^Seccomp:", "/proc/self/status"}
		if r := c.run(t, []string{"--seccomp"}, "qc-sec", status...); r.out() != "Seccomp:\t2" {
			t.Errorf("want a seccomp filter with --seccomp: %v", r)
		}
		if r := c.run(t, nil, "qc-nosec", status...); r.out() != "Seccomp:\t0" {
			t.Errorf("want no seccomp filter without --seccomp: %v", r)
		}
	})

	t.Run("cap-drop", func(t *testing.T) {
		chown := []string{"sh", "-c", "touch /tmp/f && chown 65534 /tmp/f 2>&1; echo rc=$?"}
		if r := c.run(t, nil, "qc-cap", chown...); !strings.Contains(r.stdout, "rc=0") {
			t.Errorf("chown should work with the default capabilities: %v", r)
		}
		if r := c.run(t, []string{"--cap-drop", "CAP_CHOWN"}, "qc-capdrop", chown...); !strings.Contains(r.stdout, "rc=1") {
			t.Errorf("chown should fail without CAP_CHOWN: %v", r)
		}
	})

	t.Run("network", func(t *testing.T) {
		netns := []string{"sh", "-c", "readlink /proc/self/ns/net; echo ---; cat /proc/net/dev"}
		r := c.run(t, []string{"--net-host"}, "qc-nethost", netns...)
		if first := firstLine(r.stdout); first != hostNetns() {
			t.Errorf("--net-host: want the host's network namespace %s: %v", hostNetns(), r)
		}
		r = c.run(t, nil, "qc-netns", netns...)
		if first := firstLine(r.stdout); r.code != 0 || first == hostNetns() || interfaces(r.stdout) != "lo" {
			t.Errorf("want a private network namespace with only lo: %v", r)
		}
	})

	t.Run("no-leftovers", func(t *testing.T) {
		if out := c.ctr.ok(t, "task", "ls", "-q"); out != "" {
			t.Errorf("tasks left: %s", out)
		}
		if out := c.ctr.ok(t, "container", "ls", "-q"); out != "" {
			t.Errorf("containers left: %s", out)
		}
		w.checkNoLeftovers(t, nil)
	})
}

// waitForTrap waits until process pid handles sig, so that a shell's trap
// is in place before the test sends it.
func waitForTrap(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	waitFor(t, waitTimeout, fmt.Sprintf("process %d traps %v", pid, sig), func() (bool, string) {
		ok, err := catches(pid, sig)
		return ok, fmt.Sprint(err)
	})
}

// wantCgroup fails the test unless the host's cgroup file of process pid
// holds want.
func wantCgroup(t *testing.T, pid int, controller, file, want string) {
	t.Helper()
	if got, err := hostCgroupFile(pid, controller, file); got != want {
		t.Errorf("host %s of process %d: %q (%v), want %q", file, pid, got, err, want)
	}
}

// metricIs reports whether the table `ctr task metrics` prints has the row
// "name value".
func metricIs(table, name, value string) bool {
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name && f[1] == value {
			return true
		}
	}
	return false
}

// taskPids is the PID column of `ctr task ps`.
func taskPids(table string) []string {
	var pids []string
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] != "PID" {
			pids = append(pids, f[0])
		}
	}
	return pids
}

func containsField(s, field string) bool {
	for _, f := range strings.Fields(s) {
		if f == field {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// interfaces lists the interface names of the /proc/net/dev table that
// follows a "---" line in s.
func interfaces(s string) string {
	_, table, _ := strings.Cut(s, "---\n")
	var names []string
	for _, line := range strings.Split(table, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return strings.Join(names, " ")
}
