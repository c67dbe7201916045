package clients

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Docker's private network: the bridge dockerEnv.bridge with this subnet.
const (
	dockerGateway = "10.214.2.1/24"
	dockerPrefix  = "10.214.2."
)

// dockerClient is a private dockerd with the runtime registered in its
// daemon.json as docs/docker.md shows, on a private containerd.
type dockerClient struct {
	w      *workspace
	docker tool // docker -H unix://SOCKET
}

// startDocker starts containerd and dockerd, each with private roots and
// sockets, dockerd on the private bridge without iptables or forwarding.
// dockerd is given its containerd, so that it never takes the system's.
func startDocker(t *testing.T, w *workspace, bins map[string]string) *dockerClient {
	t.Helper()
	ctrdSock := runContainerd(t, w, bins["containerd"], `disabled_plugins = ["io.containerd.grpc.v1.cri"]`)
	for _, args := range [][]string{
		{"link", "add", w.bridge, "type", "bridge"},
		{"addr", "add", dockerGateway, "dev", w.bridge},
		{"link", "set", w.bridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	daemonJSON, err := json.Marshal(map[string]any{
		"runtimes": map[string]any{"quilt": map[string]string{"path": w.wrapper}},
		// The daemon's identity key, else /etc/docker/key.json.
		"deprecated-key-path": w.path("key.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.writeFile(t, "daemon.json", string(daemonJSON))
	sock := "unix://" + w.path("docker.sock")
	d := startDaemon(t, w.path("dockerd.log"), nil, w.dir, bins["dockerd"],
		"--config-file", cfg,
		"--containerd", ctrdSock,
		"--data-root", w.path("data"),
		"--exec-root", w.path("exec"),
		"--pidfile", w.path("docker.pid"),
		"-H", sock,
		"--bridge", w.bridge,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--userland-proxy=false",
		"--storage-driver", "overlay2",
		"--exec-opt", "native.cgroupdriver=cgroupfs",
		"--cgroup-parent", w.cgroupParent,
	)
	c := &dockerClient{w: w, docker: tool{
		bin:  bins["docker"],
		args: []string{"-H", sock},
		env:  []string{"DOCKER_CONFIG=" + w.path("cli-config")},
		dir:  w.dir,
	}}
	t.Cleanup(func() {
		if ids := strings.Fields(c.docker.run(t, "ps", "-aq").stdout); len(ids) > 0 {
			c.docker.run(t, append([]string{"rm", "-f"}, ids...)...)
		}
		if err := d.stop(30 * time.Second); err != nil {
			t.Errorf("stop dockerd: %v", err)
		}
		if t.Failed() {
			t.Log(d.logTail(40))
		}
	})
	d.waitReady(t, 2*waitTimeout, func() error { return errText(c.docker.run(t, "version")) })
	return c
}

// run runs `docker run --runtime quilt` with args.
func (c *dockerClient) run(t *testing.T, args ...string) result {
	t.Helper()
	return c.docker.run(t, append([]string{"run", "--runtime", "quilt"}, args...)...)
}

// runOK is run that fails the test unless docker exits 0.
func (c *dockerClient) runOK(t *testing.T, args ...string) {
	t.Helper()
	c.docker.ok(t, append([]string{"run", "--runtime", "quilt"}, args...)...)
}

// inspect returns a field of `docker inspect`, as a Go template.
func (c *dockerClient) inspect(t *testing.T, name, field string) string {
	t.Helper()
	return c.docker.run(t, "inspect", "-f", "{{"+field+"}}", name).out()
}

// waitState waits for a container's .State.Status.
func (c *dockerClient) waitState(t *testing.T, name, state string) {
	t.Helper()
	waitFor(t, waitTimeout, name+" "+state, func() (bool, string) {
		s := c.inspect(t, name, ".State.Status")
		return s == state, s
	})
}

// pid is the host pid of a container's init process.
func (c *dockerClient) pid(t *testing.T, name string) int {
	t.Helper()
	pid, err := strconv.Atoi(c.inspect(t, name, ".State.Pid"))
	if err != nil || pid <= 0 {
		t.Fatalf("pid of %s: %q", name, c.inspect(t, name, ".State.Pid"))
	}
	return pid
}

// dockerCLI prefers the docker command of the docker.io package, which
// matches its dockerd, to a newer one earlier in PATH.
func dockerCLI(t *testing.T) string {
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	return needBinaries(t, "docker")["docker"]
}

func TestDocker(t *testing.T) {
	needSuite(t)
	bins := needBinaries(t, "dockerd", "containerd", "ctr", "containerd-shim-runc-v2", "ip")
	bins["docker"] = dockerCLI(t)
	w := newWorkspace(t, dockerEnv)
	c := startDocker(t, w, bins)

	t.Run("runtime-registered", func(t *testing.T) {
		out := c.docker.ok(t, "info", "--format", "{{json .Runtimes}}")
		var rts map[string]struct{ Path string }
		if err := json.Unmarshal([]byte(out), &rts); err != nil || rts["quilt"].Path != w.wrapper {
			t.Fatalf("docker info should list the runtime quilt at %s: %s (%v)", w.wrapper, out, err)
		}
	})
	c.docker.ok(t, "load", "-i", suite.busyboxImage)

	t.Run("run", func(t *testing.T) {
		before := countCalls(w.calls(), "create")
		if r := c.run(t, "--rm", "--name", "qd-run", busyboxRef, "echo", "hello-quilt"); r.code != 0 || r.out() != "hello-quilt" {
			t.Fatalf("want stdout hello-quilt: %v", r)
		}
		if n := countCalls(w.calls(), "create") - before; n != 1 {
			t.Errorf("docker called the runtime's create %d times, want once", n)
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
		r := c.docker.runInput(t, "piped-in\n", "run", "--runtime", "quilt", "--rm", "-i", busyboxRef, "cat")
		if r.out() != "piped-in" {
			t.Fatalf("want stdin back: %v", r)
		}
	})

	t.Run("tty", func(t *testing.T) {
		r := c.docker.runTTY(t, "run", "--runtime", "quilt", "--rm", "-t", busyboxRef, "sh", "-c", "tty; test -t 1 && echo stdout-is-tty")
		if r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") || !strings.Contains(r.stdout, "stdout-is-tty") {
			t.Fatalf("want a terminal: %v", r)
		}
	})

	// A detached container for exec, top, stats, pause, update and stop.
	const long = "qd-long"
	var longPid int
	t.Run("detached", func(t *testing.T) {
		c.runOK(t, "-d", "--name", long, busyboxRef, "sh", "-c", "echo log-line-1; echo log-line-2 >&2; exec sleep 1000")
		c.waitState(t, long, "running")
		longPid = c.pid(t, long)
		if rt := c.inspect(t, long, ".HostConfig.Runtime"); rt != "quilt" {
			t.Errorf("HostConfig.Runtime: %q, want quilt", rt)
		}
		if out := c.docker.ok(t, "ps", "--format", "{{.Names}}"); !containsField(out, long) {
			t.Errorf("docker ps does not list %s:\n%s", long, out)
		}
	})
	needLong := func(t *testing.T) {
		if longPid == 0 {
			t.Skip("the detached container did not start")
		}
	}

	t.Run("exec", func(t *testing.T) {
		needLong(t)
		r := c.docker.run(t, "exec", "-e", "XX=yy", long, "sh", "-c", `echo "from-exec $XX"; exit 5`)
		if r.code != 5 || r.out() != "from-exec yy" {
			t.Fatalf("want stdout from-exec yy and exit 5: %v", r)
		}
		r = c.docker.run(t, "exec", "-u", "65534", "-w", "/tmp", long, "sh", "-c", `echo "$(id -u) $(pwd)"`)
		if r.out() != "65534 /tmp" {
			t.Fatalf("want user 65534 in /tmp: %v", r)
		}
	})

	t.Run("logs", func(t *testing.T) {
		needLong(t)
		r := c.docker.run(t, "logs", long)
		if r.out() != "log-line-1" || strings.TrimSpace(r.stderr) != "log-line-2" {
			t.Fatalf("want log-line-1 on stdout, log-line-2 on stderr: %v", r)
		}
	})

	t.Run("top", func(t *testing.T) {
		needLong(t)
		if out := c.docker.ok(t, "top", long); !strings.Contains(out, "sleep 1000") || !containsField(out, strconv.Itoa(longPid)) {
			t.Fatalf("docker top should show sleep 1000 as pid %d:\n%s", longPid, out)
		}
	})

	t.Run("stats", func(t *testing.T) {
		needLong(t)
		out := c.docker.ok(t, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", long)
		f := strings.Fields(out)
		if len(f) < 3 {
			t.Fatalf("want name, pids and memory: %q", out)
		}
		if n, _ := strconv.Atoi(f[1]); f[0] != long || n < 1 || f[2] == "0B" {
			t.Fatalf("want the name, at least one process and some memory: %q", out)
		}
	})

	t.Run("pause-unpause", func(t *testing.T) {
		needLong(t)
		c.docker.ok(t, "pause", long)
		c.waitState(t, long, "paused")
		wantCgroup(t, longPid, "freezer", "freezer.state", "FROZEN")
		c.docker.ok(t, "unpause", long)
		c.waitState(t, long, "running")
		wantCgroup(t, longPid, "freezer", "freezer.state", "THAWED")
	})

	t.Run("update", func(t *testing.T) {
		needLong(t)
		c.docker.ok(t, "update", "--memory", "64m", "--memory-swap", "64m", "--cpus", "0.5", "--pids-limit", "50", long)
		wantCgroup(t, longPid, "memory", "memory.limit_in_bytes", "67108864")
		wantCgroup(t, longPid, "cpu", "cpu.cfs_quota_us", "50000")
		wantCgroup(t, longPid, "pids", "pids.max", "50")
		if countCalls(w.calls(), "update", "--resources") == 0 {
			t.Errorf("docker update did not go through the runtime's update --resources")
		}
	})

	t.Run("stop-escalation", func(t *testing.T) {
		needLong(t)
		// sleep as pid 1 has no handler for SIGTERM: after 2 s, SIGKILL.
		start := time.Now()
		c.docker.ok(t, "stop", "-t", "2", long)
		c.waitState(t, long, "exited")
		if code := c.inspect(t, long, ".State.ExitCode"); code != "137" {
			t.Errorf("exit code after stop: %s, want 137", code)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("stop took %v, less than its 2 s grace", d)
		}
		c.docker.ok(t, "rm", long)
	})

	t.Run("stop-trapped", func(t *testing.T) {
		c.runOK(t, "-d", "--name", "qd-term", busyboxRef, "sh", "-c", `trap "exit 7" TERM; while :; do sleep 0.1; done`)
		c.waitState(t, "qd-term", "running")
		waitForTrap(t, c.pid(t, "qd-term"), syscall.SIGTERM)
		c.docker.ok(t, "stop", "-t", "30", "qd-term")
		if code := c.inspect(t, "qd-term", ".State.ExitCode"); code != "7" {
			t.Errorf("exit code after stop: %s, want 7 from the TERM trap", code)
		}
		c.docker.ok(t, "rm", "qd-term")
	})

	t.Run("resources-oom", func(t *testing.T) {
		c.runOK(t, "-d", "--name", "qd-res", "--memory", "32m", "--cpus", "0.5", "--pids-limit", "64", busyboxRef, "sleep", "1000")
		c.waitState(t, "qd-res", "running")
		pid := c.pid(t, "qd-res")
		wantCgroup(t, pid, "memory", "memory.limit_in_bytes", "33554432")
		wantCgroup(t, pid, "cpu", "cpu.cfs_quota_us", "50000")
		wantCgroup(t, pid, "pids", "pids.max", "64")
		c.docker.ok(t, "rm", "-f", "qd-res")

		r := c.run(t, "--name", "qd-oom", "--memory", "32m", "--memory-swap", "32m", busyboxRef, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
		if r.code != 137 {
			t.Errorf("want exit 137 of a container that exceeds its memory limit: %v", r)
		}
		if oom := c.inspect(t, "qd-oom", ".State.OOMKilled"); oom != "true" {
			t.Errorf("OOMKilled: %q, want true", oom)
		}
		c.docker.ok(t, "rm", "qd-oom")
	})

	t.Run("security", func(t *testing.T) {
		r := c.run(t, "--rm", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "CHOWN", busyboxRef, "sh", "-c",
			`grep ^Seccomp: /proc/self/status; touch /x 2>/dev/null || echo rootfs-ro; touch /tmp/f && echo tmp-rw; chown 65534 /tmp/f 2>/dev/null || echo chown-denied`)
		if want := "Seccomp:\t2\nrootfs-ro\ntmp-rw\nchown-denied"; r.out() != want {
			t.Fatalf("want %q: %v", want, r)
		}
	})

	t.Run("network", func(t *testing.T) {
		netns := []string{"sh", "-c", "readlink /proc/self/ns/net; echo ---; cat /proc/net/dev"}
		r := c.run(t, append([]string{"--rm", "--network", "none", busyboxRef}, netns...)...)
		if r.code != 0 || firstLine(r.stdout) == hostNetns() || interfaces(r.stdout) != "lo" {
			t.Errorf("--network none: want a private network namespace with only lo: %v", r)
		}
		r = c.run(t, append([]string{"--rm", "--network", "host", busyboxRef}, netns...)...)
		if firstLine(r.stdout) != hostNetns() {
			t.Errorf("--network host: want the host's network namespace %s: %v", hostNetns(), r)
		}
		r = c.run(t, "--rm", busyboxRef, "ip", "-4", "-o", "addr", "show", "eth0")
		if !strings.Contains(r.stdout, "inet "+dockerPrefix) {
			t.Errorf("want an address of the private bridge (%s0/24): %v", dockerPrefix, r)
		}
	})

	t.Run("no-leftovers", func(t *testing.T) {
		if out := c.docker.ok(t, "ps", "-aq"); out != "" {
			t.Errorf("containers left: %s", out)
		}
		w.checkNoLeftovers(t, nil)
	})
}
