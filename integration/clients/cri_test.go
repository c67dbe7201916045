package clients

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quilt-runtime/quilt/integration/internal/testbuild"
)

// The CRI tests' CNI network: a bridge without a gateway address or
// masquerading, so that nothing of the host's routing changes.
const (
	criNetwork = "quilt-clients-cri"
	criSubnet  = "10.214.3.0/24"
	criPrefix  = "10.214.3."
	// criHandler is the runtime handler that a RuntimeClass names.
	criHandler = "quilt"
	// crictlVersion is built with the go command when crictl is not on
	// PATH, once, into crictlCache.
	crictlVersion = "v1.37.0"
	crictlCache   = "/var/cache/quilt-test/gobin"
)

// criClient is containerd with its CRI plugin and the runtime handler
// quilt as docs/kubernetes.md shows, driven with crictl.
type criClient struct {
	w         *workspace
	crictl    tool
	quiltRoot string // the handler's Root: the runtime's --root is quiltRoot/k8s.io
	runcRoot  string // the same for the default handler, runc
}

// startCRI writes the CNI network and containerd's configuration and
// starts containerd.
func startCRI(t *testing.T, w *workspace, bins map[string]string, cniDir string) *criClient {
	t.Helper()
	c := &criClient{w: w, quiltRoot: w.path("quilt-root"), runcRoot: w.path("runc-root")}
	w.mkdir(t, "pod-logs")
	conflist, err := json.Marshal(map[string]any{
		"cniVersion": "0.4.0",
		"name":       criNetwork,
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": w.bridge, "isGateway": false, "ipMasq": false,
			"ipam": map[string]any{
				"type": "host-local", "ranges": [][]map[string]string{{{"subnet": criSubnet}}}, "dataDir": w.path("cni-ipam"),
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.writeFile(t, "cni/10-quilt.conflist", string(conflist))
	cri := fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # Without CAP_SYS_RESOURCE in the bounding set, the sandbox's negative
  # oom_score_adj cannot be written: clamp it as containerd does rootless.
  restrict_oom_score_adj = %t
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = %q
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.quilt]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.quilt.options]
        BinaryName = %q
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
    max_conf_num = 1
`, pauseRef, !hasCapability(capSysResource), c.runcRoot, w.wrapper, c.quiltRoot, cniDir, w.path("cni"))
	sock := runContainerd(t, w, bins["containerd"], cri)
	crictlYAML := fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\ndebug: false\npull-image-on-create: false\n", sock, sock)
	c.crictl = tool{bin: bins["crictl"], args: []string{"--config", w.writeFile(t, "crictl.yaml", crictlYAML)}, dir: w.dir}
	t.Cleanup(func() {
		for _, p := range strings.Fields(c.crictl.run(t, "pods", "-q").stdout) {
			c.crictl.run(t, "stopp", p)
			c.crictl.run(t, "rmp", "-f", p)
		}
	})
	ctr := tool{bin: bins["ctr"], args: []string{"-a", sock, "-n", "k8s.io"}, dir: w.dir}
	ctr.ok(t, "images", "import", suite.pauseImage)
	ctr.ok(t, "images", "import", suite.busyboxImage)
	waitFor(t, waitTimeout, "CRI lists the images", func() (bool, string) {
		out := c.crictl.run(t, "images").stdout
		return strings.Contains(out, "localhost/quilt-pause") && strings.Contains(out, "localhost/quilt-busybox"), out
	})
	return c
}

// capSysResource is CAP_SYS_RESOURCE.
const capSysResource = 24

// hasCapability reports whether the capability bounding set holds cap.
func hasCapability(cap uint) bool {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<cap) != 0
		}
	}
	return false
}

// crictlBinary finds crictl on PATH or in the cache, or builds it there.
func crictlBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("crictl"); err == nil {
		return p
	}
	cached := filepath.Join(crictlCache, "crictl")
	if _, err := os.Stat(cached); err == nil {
		return cached
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testbuild.GoCommand(), "install", "sigs.k8s.io/cri-tools/cmd/crictl@"+crictlVersion)
	cmd.Dir = os.TempDir() // outside this module
	cmd.Env = append(os.Environ(), "GOBIN="+crictlCache, "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build crictl %s: %v\n%s", crictlVersion, err, out)
	}
	return cached
}

// podConfig is a PodSandboxConfig: network 0 is the pod's own network
// namespace (CNI), 2 the node's. Every container gets its own pid
// namespace, as the kubelet does by default.
func (c *criClient) podConfig(t *testing.T, name string, uid, network int) string {
	t.Helper()
	pod := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "quilt-clients", "uid": strconv.Itoa(uid), "attempt": 0},
		"log_directory": c.w.path("pod-logs", name),
		"linux": map[string]any{
			"cgroup_parent":    fmt.Sprintf("%s/pod%d", c.w.cgroupParent, uid),
			"security_context": map[string]any{"namespace_options": map[string]int{"network": network, "pid": 1, "ipc": 0}},
		},
	}
	if network == 0 {
		pod["hostname"] = name
	}
	return c.writeJSON(t, name+"-pod.json", pod)
}

// containerConfig is a ContainerConfig of busybox running cmd with FOO set,
// in /tmp, with the resources given.
func (c *criClient) containerConfig(t *testing.T, name string, resources map[string]int, cmd ...string) string {
	t.Helper()
	return c.writeJSON(t, name+"-container.json", map[string]any{
		"metadata":    map[string]string{"name": name},
		"image":       map[string]string{"image": busyboxRef},
		"command":     cmd,
		"envs":        []map[string]string{{"key": "FOO", "value": "bar-baz"}},
		"working_dir": "/tmp",
		"log_path":    name + ".log",
		"linux": map[string]any{
			"security_context": map[string]any{"namespace_options": map[string]int{"pid": 1}},
			"resources":        resources,
		},
	})
}

func (c *criClient) writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return c.w.writeFile(t, name, string(b))
}

// field is a field of `crictl inspect[p]` as a Go template.
func (c *criClient) field(t *testing.T, inspect, id, field string) string {
	t.Helper()
	return c.crictl.run(t, inspect, "-o", "go-template", "--template", "{{"+field+"}}", id).out()
}

func (c *criClient) waitContainer(t *testing.T, id, state string) {
	t.Helper()
	waitFor(t, waitTimeout, "container "+id+" "+state, func() (bool, string) {
		s := c.field(t, "inspect", id, ".status.state")
		return s == state, s
	})
}

func TestCRI(t *testing.T) {
	needSuite(t)
	bins := needBinaries(t, "containerd", "ctr", "containerd-shim-runc-v2", "runc")
	cniDir := "/usr/lib/cni"
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniDir, p)); err != nil {
			t.Skipf("CNI plugin %s is not installed (Debian's containernetworking-plugins): %v", p, err)
		}
	}
	bins["crictl"] = crictlBinary(t)
	w := newWorkspace(t, criEnv)
	c := startCRI(t, w, bins, cniDir)
	quiltRoot := c.quiltRoot + "/k8s.io"

	t.Run("version", func(t *testing.T) {
		if out := c.crictl.ok(t, "version"); !strings.Contains(out, "RuntimeApiVersion:  v1") {
			t.Fatalf("want CRI v1:\n%s", out)
		}
	})

	t.Run("handler-config", func(t *testing.T) {
		var info struct {
			Config struct {
				Containerd struct {
					Runtimes map[string]struct {
						Options map[string]any `json:"options"`
					} `json:"runtimes"`
				} `json:"containerd"`
			} `json:"config"`
		}
		out := c.crictl.ok(t, "info", "-o", "json")
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("crictl info: %v", err)
		}
		if got := info.Config.Containerd.Runtimes[criHandler].Options["BinaryName"]; got != w.wrapper {
			t.Fatalf("handler %s: BinaryName %v, want %s", criHandler, got, w.wrapper)
		}
	})

	podJSON := c.podConfig(t, "quilt-pod", 1001, 0)
	var pod, ctr string
	t.Run("runp", func(t *testing.T) {
		pod = c.crictl.ok(t, "runp", "--runtime", criHandler, podJSON)
		if st := c.field(t, "inspectp", pod, ".status.state"); st != "SANDBOX_READY" {
			t.Errorf("pod state %q", st)
		}
		if h := c.field(t, "inspectp", pod, ".status.runtimeHandler"); h != criHandler {
			t.Errorf("pod runtime handler %q, want %s", h, criHandler)
		}
		if n := countCalls(w.calls(), "create", "--root "+quiltRoot+" ", pod); n != 1 {
			t.Errorf("the shim called `%s --root %s create ... %s` %d times, want once", w.wrapper, quiltRoot, pod, n)
		}
		if ip := c.field(t, "inspectp", pod, ".status.network.ip"); !strings.HasPrefix(ip, criPrefix) {
			t.Errorf("pod IP %q is not in the CNI bridge's %s", ip, criSubnet)
		}
	})
	needPod := func(t *testing.T) {
		if pod == "" {
			t.Skip("the pod did not start")
		}
	}

	var ctrPid int
	t.Run("create-start", func(t *testing.T) {
		needPod(t)
		res := map[string]int{"memory_limit_in_bytes": 67108864, "cpu_period": 100000, "cpu_quota": 50000}
		cfg := c.containerConfig(t, "app", res, "sh", "-c", "echo hello-from-cri; echo err-line >&2; exec sleep 1000")
		ctr = c.crictl.ok(t, "create", pod, cfg, podJSON)
		if st := c.field(t, "inspect", ctr, ".status.state"); st != "CONTAINER_CREATED" {
			t.Errorf("state after create: %q", st)
		}
		c.crictl.ok(t, "start", ctr)
		c.waitContainer(t, ctr, "CONTAINER_RUNNING")
		ctrPid, _ = strconv.Atoi(c.field(t, "inspect", ctr, ".info.pid"))
		wantCgroup(t, ctrPid, "memory", "memory.limit_in_bytes", "67108864")
		wantCgroup(t, ctrPid, "cpu", "cpu.cfs_quota_us", "50000")
		if cg, _ := cgroupPath(ctrPid, "memory"); !strings.HasPrefix(cg, c.w.cgroupParent+"/pod1001/") {
			t.Errorf("container cgroup %q is not below the pod's cgroup parent", cg)
		}
	})
	needCtr := func(t *testing.T) {
		if ctrPid == 0 {
			t.Skip("the container did not start")
		}
	}

	t.Run("logs", func(t *testing.T) {
		needCtr(t)
		waitFor(t, waitTimeout, "both log lines", func() (bool, string) {
			r := c.crictl.run(t, "logs", ctr)
			return strings.Contains(r.stdout, "hello-from-cri") && strings.Contains(r.stderr, "err-line"), r.String()
		})
	})

	t.Run("exec-sync", func(t *testing.T) {
		needCtr(t)
		r := c.crictl.run(t, "exec", "-s", ctr, "sh", "-c", `echo "$FOO $(pwd) $(hostname)"`)
		if want := "bar-baz /tmp quilt-pod"; r.code != 0 || r.out() != want {
			t.Errorf("want %q: %v", want, r)
		}
		// crictl exits 1 when the process fails, and names its exit code.
		r = c.crictl.run(t, "exec", "-s", ctr, "sh", "-c", "exit 3")
		if r.code != 1 || !strings.Contains(r.stderr, "exited with 3") {
			t.Errorf("want exit 3 of the process: %v", r)
		}
	})

	t.Run("exec-stream", func(t *testing.T) {
		needCtr(t)
		if r := c.crictl.runInput(t, "via-stream\n", "exec", "-i", ctr, "cat"); r.out() != "via-stream" {
			t.Fatalf("want stdin back through the streaming server: %v", r)
		}
	})

	t.Run("update", func(t *testing.T) {
		needCtr(t)
		c.crictl.ok(t, "update", "--memory", "134217728", "--cpu-quota", "20000", ctr)
		wantCgroup(t, ctrPid, "memory", "memory.limit_in_bytes", "134217728")
		wantCgroup(t, ctrPid, "cpu", "cpu.cfs_quota_us", "20000")
		if countCalls(w.calls(), "update", "--resources", ctr) == 0 {
			t.Errorf("crictl update did not go through the runtime's update --resources")
		}
	})

	t.Run("stats", func(t *testing.T) {
		needCtr(t)
		out := c.crictl.ok(t, "stats", "-o", "json", ctr)
		var stats struct {
			Stats []struct {
				Memory struct {
					WorkingSetBytes struct{ Value string } `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"stats"`
		}
		if err := json.Unmarshal([]byte(out), &stats); err != nil || len(stats.Stats) != 1 {
			t.Fatalf("crictl stats: %v\n%s", err, out)
		}
		if n, _ := strconv.Atoi(stats.Stats[0].Memory.WorkingSetBytes.Value); n <= 0 {
			t.Errorf("working set %q, want some memory:\n%s", stats.Stats[0].Memory.WorkingSetBytes.Value, out)
		}
	})

	t.Run("stop-escalation", func(t *testing.T) {
		needCtr(t)
		// sleep as pid 1 has no handler for SIGTERM: after 2 s, SIGKILL.
		start := time.Now()
		c.crictl.ok(t, "stop", "-t", "2", ctr)
		c.waitContainer(t, ctr, "CONTAINER_EXITED")
		if code := c.field(t, "inspect", ctr, ".status.exitCode"); code != "137" {
			t.Errorf("exit code after stop: %s, want 137", code)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("stop took %v, less than its 2 s grace", d)
		}
	})

	t.Run("rm-stopp-rmp", func(t *testing.T) {
		needPod(t)
		if ctr != "" {
			c.crictl.ok(t, "rm", ctr)
		}
		c.crictl.ok(t, "stopp", pod)
		c.crictl.ok(t, "rmp", pod)
		if out := c.crictl.ok(t, "pods", "-q"); out != "" {
			t.Errorf("pods left: %s", out)
		}
	})

	t.Run("default-handler", func(t *testing.T) {
		// A pod without --runtime (no RuntimeClass) keeps the default
		// handler, runc, and never reaches the quilt binary.
		before := len(w.calls())
		p := c.crictl.ok(t, "runp", c.podConfig(t, "quilt-default", 1002, 2))
		if ids, err := runtimeList("runc", c.runcRoot+"/k8s.io"); err != nil || !containsField(strings.Join(ids, " "), p) {
			t.Errorf("runc does not list the default handler's pod %s: %v %v", p, ids, err)
		}
		c.crictl.ok(t, "stopp", p)
		c.crictl.ok(t, "rmp", p)
		if after := w.calls(); len(after) != before {
			t.Errorf("a pod of the default handler called the quilt binary: %v", after[before:])
		}
	})

	t.Run("no-leftovers", func(t *testing.T) {
		if out := c.crictl.ok(t, "pods", "-q"); out != "" {
			t.Errorf("pods left: %s", out)
		}
		if out := c.crictl.ok(t, "ps", "-aq"); out != "" {
			t.Errorf("containers left: %s", out)
		}
		// The kubelet, not the runtime, removes a pod's cgroup parent.
		w.checkNoLeftovers(t, func(cg string) bool { return cg == "pod1001" || cg == "pod1002" })
		if ids, err := runtimeList("runc", c.runcRoot+"/k8s.io"); err != nil || len(ids) > 0 {
			t.Errorf("runc still lists %v (%v)", ids, err)
		}
	})
}
