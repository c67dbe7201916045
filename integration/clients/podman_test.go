package clients

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// podmanClient is podman with a private containers.conf that names the
// runtime as docs/podman.md shows, a private storage.conf (overlay) and
// registries.conf (no registry), and private roots; offline, with no
// network by default (netns = "none"), so netavark is never called.
type podmanClient struct {
	w      *workspace
	podman tool
}

// newPodman writes podman's configuration into the work directory.
func newPodman(t *testing.T, w *workspace, bin string) *podmanClient {
	t.Helper()
	// The ulimits podman asks for by default (1048576) need
	// CAP_SYS_RESOURCE when they exceed the inherited hard limits, which a
	// capability bounding set may lack: ask for the inherited ones. podman
	// 4.3 lowers its own RLIMIT_NPROC to 32768, which conmon and the
	// runtime inherit.
	nofile, nproc := hardLimit(syscall.RLIMIT_NOFILE), min(hardLimit(rlimitNproc), 32768)
	containersConf := fmt.Sprintf(`[containers]
netns = "none"
log_driver = "k8s-file"
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]

[engine]
runtime = "quilt"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
tmp_dir = %q
volume_path = %q

runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "quilt"]

[engine.runtimes]
quilt = [%q]

[network]
network_backend = "netavark"
network_config_dir = %q
`, nofile, nofile, nproc, nproc, w.path("events.log"), w.path("libpod-tmp"), w.path("volumes"), w.wrapper, w.path("networks"))
	storageConf := fmt.Sprintf(`[storage]
driver = "overlay"
graphroot = %q
runroot = %q
`, w.path("storage"), w.path("run"))
	registriesConf := `unqualified-search-registries = []
short-name-mode = "disabled"
`
	c := &podmanClient{w: w, podman: tool{
		bin: bin,
		args: []string{
			"--root", w.path("storage"), "--runroot", w.path("run"), "--tmpdir", w.path("libpod-tmp"),
			"--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
			"--network-config-dir", w.path("networks"), "--volumepath", w.path("volumes"),
			// podman 4.3 gives the runtime no --root, so its containers
			// live in the runtime's default root. (--runtime-flag
			// root=DIR would not help: podman's `delete --force` leaves
			// it out.)
			"--runtime", "quilt",
		},
		env: []string{
			"CONTAINERS_CONF=" + w.writeFile(t, "containers.conf", containersConf),
			"CONTAINERS_STORAGE_CONF=" + w.writeFile(t, "storage.conf", storageConf),
			"CONTAINERS_REGISTRIES_CONF=" + w.writeFile(t, "registries.conf", registriesConf),
			"TMPDIR=" + w.path("tmp"),
		},
		// conmon writes its "oom" marker into its working directory.
		dir: w.dir,
	}}
	w.mkdir(t, "tmp", "networks", "libpod-tmp", "volumes")
	t.Cleanup(func() {
		c.podman.run(t, "rm", "-af", "-t", "0")
		c.podman.run(t, "rmi", "-af")
	})
	return c
}

// rlimitNproc is RLIMIT_NPROC, which package syscall does not name.
const rlimitNproc = 6

// hardLimit is the process's hard limit of a resource, at most 1048576.
func hardLimit(resource int) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(resource, &l); err != nil || l.Max > 1<<20 {
		return 1 << 20
	}
	return l.Max
}

// createArgs are the arguments of `podman run` or `create` that every
// container gets: no pulling, and the private cgroup parent.
func (c *podmanClient) createArgs(sub string, args ...string) []string {
	return append([]string{sub, "--pull", "never", "--cgroup-parent", c.w.cgroupParent}, args...)
}

func (c *podmanClient) run(t *testing.T, args ...string) result {
	t.Helper()
	return c.podman.run(t, c.createArgs("run", args...)...)
}

func (c *podmanClient) inspect(t *testing.T, name, field string) string {
	t.Helper()
	return c.podman.run(t, "inspect", "-f", "{{"+field+"}}", name).out()
}

func (c *podmanClient) waitState(t *testing.T, name, state string) {
	t.Helper()
	waitFor(t, waitTimeout, name+" "+state, func() (bool, string) {
		s := c.inspect(t, name, ".State.Status")
		return s == state, s
	})
}

func (c *podmanClient) pid(t *testing.T, name string) int {
	t.Helper()
	pid, err := strconv.Atoi(c.inspect(t, name, ".State.Pid"))
	if err != nil || pid <= 0 {
		t.Fatalf("pid of %s: %q", name, c.inspect(t, name, ".State.Pid"))
	}
	return pid
}

// startDetached runs a container with -d and returns its pid once running.
func (c *podmanClient) startDetached(t *testing.T, name string, args ...string) int {
	t.Helper()
	c.podman.ok(t, c.createArgs("run", append([]string{"-d", "--name", name}, args...)...)...)
	c.waitState(t, name, "running")
	return c.pid(t, name)
}

func TestPodman(t *testing.T) {
	needSuite(t)
	bins := needBinaries(t, "podman", "conmon")
	w := newWorkspace(t, podmanEnv)
	c := newPodman(t, w, bins["podman"])

	t.Run("info", func(t *testing.T) {
		out := c.podman.ok(t, "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}} {{.Store.GraphRoot}} {{.Host.CgroupManager}}")
		if want := fmt.Sprintf("quilt %s %s cgroupfs", w.wrapper, w.path("storage")); out != want {
			t.Fatalf("podman info: %q, want %q", out, want)
		}
	})
	c.podman.ok(t, "load", "-q", "-i", suite.busyboxImage)

	t.Run("run", func(t *testing.T) {
		before := countCalls(w.calls(), "create")
		if r := c.run(t, "--rm", busyboxRef, "echo", "hello-quilt"); r.code != 0 || r.out() != "hello-quilt" {
			t.Fatalf("want stdout hello-quilt: %v", r)
		}
		if n := countCalls(w.calls(), "create") - before; n != 1 {
			t.Errorf("podman called the runtime's create %d times, want once", n)
		}
	})

	t.Run("exit-code", func(t *testing.T) {
		if r := c.run(t, "--rm", busyboxRef, "sh", "-c", "exit 3"); r.code != 3 {
			t.Fatalf("want exit 3: %v", r)
		}
	})

	t.Run("env-workdir-user", func(t *testing.T) {
		r := c.run(t, "--rm", "-e", "FOO=bar-baz", "-w", "/tmp", "-u", "65534:65534", busyboxRef,
			"sh", "-c", `echo "$FOO $(pwd) $(id -u):$(id -g)"`)
		if want := "bar-baz /tmp 65534:65534"; r.out() != want {
			t.Fatalf("want %q: %v", want, r)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		r := c.podman.runInput(t, "piped-in\n", c.createArgs("run", "--rm", "-i", busyboxRef, "cat")...)
		if r.out() != "piped-in" {
			t.Fatalf("want stdin back: %v", r)
		}
	})

	t.Run("tty", func(t *testing.T) {
		r := c.podman.runTTY(t, c.createArgs("run", "--rm", "-t", busyboxRef, "sh", "-c", "tty; test -t 1 && echo stdout-is-tty")...)
		if r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") || !strings.Contains(r.stdout, "stdout-is-tty") {
			t.Fatalf("want a terminal: %v", r)
		}
	})

	const long = "qp-long"
	var longPid int
	t.Run("detached", func(t *testing.T) {
		longPid = c.startDetached(t, long, busyboxRef, "sh", "-c", "echo log-line-1; echo log-line-2 >&2; exec sleep 1000")
		if out := c.podman.ok(t, "ps", "--format", "{{.Names}}"); !containsField(out, long) {
			t.Errorf("podman ps does not list %s:\n%s", long, out)
		}
	})
	needLong := func(t *testing.T) {
		if longPid == 0 {
			t.Skip("the detached container did not start")
		}
	}

	t.Run("exec", func(t *testing.T) {
		needLong(t)
		r := c.podman.run(t, "exec", "-e", "XX=yy", long, "sh", "-c", `echo "from-exec $XX"; exit 5`)
		if r.code != 5 || r.out() != "from-exec yy" {
			t.Fatalf("want stdout from-exec yy and exit 5: %v", r)
		}
		r = c.podman.run(t, "exec", "-u", "65534", "-w", "/tmp", long, "sh", "-c", `echo "$(id -u) $(pwd)"`)
		if r.out() != "65534 /tmp" {
			t.Fatalf("want user 65534 in /tmp: %v", r)
		}
	})

	t.Run("exec-tty-stdin", func(t *testing.T) {
		needLong(t)
		if r := c.podman.runInput(t, "to-exec\n", "exec", "-i", long, "cat"); r.out() != "to-exec" {
			t.Errorf("exec -i: want stdin back: %v", r)
		}
		r := c.podman.runTTY(t, "exec", "-t", "-i", long, "sh", "-c", "tty; test -t 0 && echo stdin-is-tty")
		if r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") || !strings.Contains(r.stdout, "stdin-is-tty") {
			t.Errorf("exec -t -i: want a terminal: %v", r)
		}
	})

	t.Run("logs", func(t *testing.T) {
		needLong(t)
		r := c.podman.run(t, "logs", long)
		if out := r.stdout + r.stderr; !strings.Contains(out, "log-line-1") || !strings.Contains(out, "log-line-2") {
			t.Fatalf("want both log lines: %v", r)
		}
	})

	t.Run("top", func(t *testing.T) {
		needLong(t)
		if out := c.podman.ok(t, "top", long); !strings.Contains(out, "sleep 1000") {
			t.Fatalf("podman top should show sleep 1000:\n%s", out)
		}
	})

	t.Run("pause-unpause", func(t *testing.T) {
		needLong(t)
		c.podman.ok(t, "pause", long)
		c.waitState(t, long, "paused")
		wantCgroup(t, longPid, "freezer", "freezer.state", "FROZEN")
		c.podman.ok(t, "unpause", long)
		c.waitState(t, long, "running")
		wantCgroup(t, longPid, "freezer", "freezer.state", "THAWED")
	})

	t.Run("stop-escalation", func(t *testing.T) {
		needLong(t)
		start := time.Now()
		c.podman.ok(t, "stop", "-t", "2", long)
		c.waitState(t, long, "exited")
		if code := c.inspect(t, long, ".State.ExitCode"); code != "137" {
			t.Errorf("exit code after stop: %s, want 137", code)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("stop took %v, less than its 2 s grace", d)
		}
	})

	t.Run("kill-usr1", func(t *testing.T) {
		pid := c.startDetached(t, "qp-kill", busyboxRef, "sh", "-c", `trap "exit 9" USR1; while :; do sleep 0.1; done`)
		waitForTrap(t, pid, syscall.SIGUSR1)
		c.podman.ok(t, "kill", "-s", "USR1", "qp-kill")
		c.waitState(t, "qp-kill", "exited")
		if code := c.inspect(t, "qp-kill", ".State.ExitCode"); code != "9" {
			t.Errorf("exit code after USR1: %s, want 9 from the trap", code)
		}
	})

	t.Run("create-start-wait", func(t *testing.T) {
		c.podman.ok(t, c.createArgs("create", "--name", "qp-cs", busyboxRef, "sh", "-c", "exit 4")...)
		if s := c.inspect(t, "qp-cs", ".State.Status"); s != "created" {
			t.Fatalf("state after create: %q", s)
		}
		c.podman.ok(t, "start", "qp-cs")
		if out := c.podman.ok(t, "wait", "qp-cs"); out != "4" {
			t.Fatalf("podman wait: %q, want 4", out)
		}
	})

	t.Run("rm-force", func(t *testing.T) {
		pid := c.startDetached(t, "qp-rmf", busyboxRef, "sleep", "1000")
		c.podman.ok(t, "rm", "-f", "-t", "0", "qp-rmf", long, "qp-kill", "qp-cs")
		if out := c.podman.ok(t, "ps", "-aq"); out != "" {
			t.Errorf("containers left after rm -f: %s", out)
		}
		if alive(pid) {
			t.Errorf("process %d of the removed container still runs", pid)
		}
	})

	t.Run("resources-oom", func(t *testing.T) {
		pid := c.startDetached(t, "qp-res", "--memory", "32m", "--cpus", "0.5", "--pids-limit", "64", busyboxRef, "sleep", "1000")
		wantCgroup(t, pid, "memory", "memory.limit_in_bytes", "33554432")
		wantCgroup(t, pid, "cpu", "cpu.cfs_quota_us", "50000")
		wantCgroup(t, pid, "pids", "pids.max", "64")
		c.podman.ok(t, "rm", "-f", "-t", "0", "qp-res")
		r := c.run(t, "--rm", "--memory", "32m", "--memory-swap", "32m", busyboxRef, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
		if r.code != 137 {
			t.Errorf("want exit 137 of a container that exceeds its memory limit: %v", r)
		}
	})

	t.Run("security", func(t *testing.T) {
		r := c.run(t, "--rm", "--read-only", "--cap-drop", "CHOWN", busyboxRef, "sh", "-c",
			`grep ^Seccomp: /proc/self/status; touch /x 2>/dev/null || echo rootfs-ro; touch /tmp/f && echo tmp-rw; chown 65534 /tmp/f 2>/dev/null || echo chown-denied`)
		if want := "Seccomp:\t2\nrootfs-ro\ntmp-rw\nchown-denied"; r.out() != want {
			t.Fatalf("want %q: %v", want, r)
		}
	})

	t.Run("network", func(t *testing.T) {
		netns := []string{"sh", "-c", "readlink /proc/self/ns/net; echo ---; cat /proc/net/dev"}
		r := c.run(t, append([]string{"--rm", busyboxRef}, netns...)...)
		if r.code != 0 || firstLine(r.stdout) == hostNetns() || interfaces(r.stdout) != "lo" {
			t.Errorf("netns none: want a private network namespace with only lo: %v", r)
		}
		r = c.run(t, append([]string{"--rm", "--network", "host", busyboxRef}, netns...)...)
		if firstLine(r.stdout) != hostNetns() {
			t.Errorf("--network host: want the host's network namespace %s: %v", hostNetns(), r)
		}
	})

	t.Run("no-leftovers", func(t *testing.T) {
		if out := c.podman.ok(t, "ps", "-aq"); out != "" {
			t.Errorf("containers left: %s", out)
		}
		// podman leaves the cgroup it moves conmon to.
		w.checkNoLeftovers(t, func(cg string) bool { return cg == "conmon" })
	})
}
