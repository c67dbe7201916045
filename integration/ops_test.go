package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runDetached starts a long-running container and waits until it runs.
func (h *harness) runDetached(edit ...func(*specs.Spec)) (*bundle, string) {
	h.t.Helper()
	b := h.bundle(testinit("sleep"), edit...)
	id := h.id()
	h.mustExec("run", "--detach", "--bundle", b.Dir, id)
	h.waitStatus(id, "running")
	return b, id
}

func TestExec(t *testing.T) {
	h := newHarness(t)
	_, id := h.runDetached(func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "FROM_CONFIG=yes") })

	r := h.exec("exec", id, "/bin/sh", "-c", "echo $FROM_CONFIG $EXTRA; pwd; id -u")
	if r.code != 0 || r.stdout != "yes\n/\n0\n" {
		t.Fatalf("plain exec: %v", r)
	}
	r = h.exec("exec", "--env", "EXTRA=1", "--cwd", "/tmp", "--user", "65534:65534", id, "/bin/sh", "-c", "echo $EXTRA; pwd; id -u; id -g")
	if r.code != 0 || r.stdout != "1\n/tmp\n65534\n65534\n" {
		t.Fatalf("exec --env --cwd --user: %v", r)
	}
	if r := h.exec("exec", id, "/bin/sh", "-c", "exit 5"); r.code != 5 {
		t.Fatalf("exit status not passed through: %v", r)
	}
	// A process that the caller's flags must not parse: -c belongs to sh.
	if r := h.exec("exec", id, "sh", "-c", "echo -n ok"); r.code != 0 || r.stdout != "ok" {
		t.Fatalf("flags after the command: %v", r)
	}

	// --process: a runtime-spec process, as containerd sends it.
	p := specs.Process{Args: []string{"/bin/sh", "-c", "echo from-process-file"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	data, _ := json.Marshal(p)
	pf := filepath.Join(h.dir, "process.json")
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := h.exec("exec", "--process", pf, id); r.code != 0 || r.stdout != "from-process-file\n" {
		t.Fatalf("exec --process: %v", r)
	}

	// --detach with --pid-file: the process runs in the container.
	pidFile := filepath.Join(h.dir, "exec.pid")
	h.mustExec("exec", "--detach", "--pid-file", pidFile, id, "/bin/testinit", "sleep")
	pid, err := strconv.Atoi(readFile(pidFile))
	if err != nil {
		t.Fatalf("pid file %q: %v", readFile(pidFile), err)
	}
	var pids []int
	if err := json.Unmarshal([]byte(h.mustExec("ps", "--format", "json", id).stdout), &pids); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pids {
		found = found || p == pid
	}
	if !found || len(pids) != 2 {
		t.Fatalf("ps --format json = %v, want init and the exec'd pid %d", pids, pid)
	}
}

func TestExecErrors(t *testing.T) {
	h := newHarness(t)
	_, id := h.runDetached()
	tests := []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"not found", []string{"/no/such/program"}, 127, "/no/such/program"},
		{"not in PATH", []string{"nosuchprogram"}, 127, "nosuchprogram"},
		{"not executable", []string{"/proc/version"}, 126, "/proc/version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.exec(append([]string{"exec", id}, tc.args...)...)
			if isRunc {
				if r.code == 0 {
					t.Fatalf("exec succeeded: %v", r)
				}
				return
			}
			if r.code != tc.code || !strings.Contains(r.stderr, tc.say) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to name %s)", r.code, tc.code, r.stderr, tc.say)
			}
		})
	}
	t.Run("missing container", func(t *testing.T) {
		r := h.exec("exec", "it-nosuch", "true")
		if r.code == 0 || (!isRunc && r.code != 255) {
			t.Fatalf("exec in a missing container: %v", r)
		}
	})
	t.Run("stopped container", func(t *testing.T) {
		b := h.bundle(testinit("exit", "0"))
		sid := h.id()
		h.mustExec("run", "--detach", "--bundle", b.Dir, sid)
		h.waitStatus(sid, "stopped")
		if r := h.exec("exec", sid, "true"); r.code == 0 {
			t.Fatalf("exec in a stopped container succeeded: %v", r)
		}
	})
}

func TestPsTable(t *testing.T) {
	h := newHarness(t)
	_, id := h.runDetached()
	st := h.state(id)
	r := h.mustExec("ps", id)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "PID") || !strings.Contains(lines[1], strconv.Itoa(st.Pid)) {
		t.Fatalf("ps table:\n%s", r.stdout)
	}
	if isRunc {
		return // runc 1.1.5 rejects ps options after "--"
	}
	r = h.mustExec("ps", id, "--", "-o", "pid,comm")
	if !strings.Contains(r.stdout, "testinit") {
		t.Fatalf("ps -o pid,comm:\n%s", r.stdout)
	}
}

func TestPauseResume(t *testing.T) {
	h := newHarness(t)
	b, id := h.runDetached()
	h.mustExec("pause", id)
	if s := h.state(id); s.Status != "paused" {
		t.Fatalf("status after pause = %q", s.Status)
	}
	freezer := cgroupFile(b.cgroup, "freezer", "freezer.state", "cgroup.freeze")
	if got := strings.TrimSpace(readFile(freezer)); got != "FROZEN" && got != "1" {
		t.Fatalf("%s = %q, want frozen", freezer, got)
	}
	if r := h.exec("pause", id); !isRunc && r.code == 0 {
		t.Fatalf("pause of a paused container succeeded: %v", r)
	}
	h.mustExec("resume", id)
	if s := h.state(id); s.Status != "running" {
		t.Fatalf("status after resume = %q", s.Status)
	}
	wantError(t, h.exec("resume", id), id)
	// A paused container can be killed and deleted.
	h.mustExec("pause", id)
	h.mustExec("delete", "--force", id)
}

func TestUpdate(t *testing.T) {
	h := newHarness(t)
	b, id := h.runDetached(func(s *specs.Spec) {
		limit := int64(256 << 20)
		resources(s).Memory = &specs.LinuxMemory{Limit: &limit}
	})
	h.mustExec("update", "--memory", "64m", "--pids-limit", "20", "--cpu-quota", "50000", "--cpu-period", "100000", id)
	wantCgroupValue(t, cgroupFile(b.cgroup, "memory", "memory.limit_in_bytes", "memory.max"), strconv.Itoa(64<<20))
	wantCgroupValue(t, cgroupFile(b.cgroup, "pids", "pids.max", "pids.max"), "20")
	if f := cgroupFile(b.cgroup, "cpu", "cpu.cfs_quota_us", "cpu.max"); strings.HasSuffix(f, "cfs_quota_us") {
		wantCgroupValue(t, f, "50000")
	}

	// The JSON containerd and Docker send on stdin.
	res := filepath.Join(h.dir, "resources.json")
	if err := os.WriteFile(res, []byte(`{"memory":{"limit":134217728,"swap":134217728},"pids":{"limit":30}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin, err := os.Open(res)
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if r := h.execOpts(opts{stdin: stdin}, "update", "--resources", "-", id); r.code != 0 {
		t.Fatalf("update --resources -: %v", r)
	}
	wantCgroupValue(t, cgroupFile(b.cgroup, "memory", "memory.limit_in_bytes", "memory.max"), strconv.Itoa(128<<20))
	wantCgroupValue(t, cgroupFile(b.cgroup, "pids", "pids.max", "pids.max"), "30")

	wantError(t, h.exec("update", "--memory", "lots", id), "memory")
	wantError(t, h.exec("update", "--memory", "64m", "it-nosuch"), "it-nosuch")
}

func TestEventsStatsAndOOM(t *testing.T) {
	h := newHarness(t)
	// The process allocates more than the limit in a child, which the
	// kernel OOM-kills; the container itself keeps running.
	_, id := h.runDetached(func(s *specs.Spec) {
		limit := int64(32 << 20)
		resources(s).Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
		s.Process.Args = shell("/bin/testinit alloc 64; exec /bin/testinit sleep")
	})
	events := h.background(opts{}, "events", "--interval", "200ms", id)
	out := waitFile(t, events.out, `"type":"oom"`)
	if !strings.Contains(out, `"type":"stats"`) && !isRunc {
		out = waitFile(t, events.out, `"type":"stats"`)
	}
	r := h.mustExec("events", "--stats", id)
	var ev struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			Memory struct {
				Usage struct {
					Limit uint64 `json:"limit"`
				} `json:"usage"`
				Raw map[string]uint64 `json:"raw"`
			} `json:"memory"`
			Pids struct {
				Current uint64 `json:"current"`
			} `json:"pids"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("events --stats is not one JSON object: %v\n%s", err, r.stdout)
	}
	if ev.Type != "stats" || ev.ID != id || ev.Data.Memory.Usage.Limit != 32<<20 || ev.Data.Pids.Current == 0 {
		t.Fatalf("events --stats = %+v", ev)
	}
	if !isRunc && ev.Data.Memory.Raw["oom_kill"] == 0 {
		t.Fatalf("events --stats does not show the OOM kill: raw = %v", ev.Data.Memory.Raw)
	}
	h.mustExec("delete", "--force", id)
	done := make(chan result, 1)
	go func() { done <- events.wait() }()
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("events after the container went: %v", r)
		}
	case <-time.After(waitTimeout):
		t.Fatal("events did not end when the container was deleted")
	}
}

func TestFeatures(t *testing.T) {
	h := newHarness(t)
	r := h.mustExec("features")
	var f struct {
		OCIVersionMin string   `json:"ociVersionMin"`
		OCIVersionMax string   `json:"ociVersionMax"`
		Hooks         []string `json:"hooks"`
		MountOptions  []string `json:"mountOptions"`
		Linux         struct {
			Namespaces   []string `json:"namespaces"`
			Capabilities []string `json:"capabilities"`
			Cgroup       struct {
				V1 *bool `json:"v1"`
				V2 *bool `json:"v2"`
			} `json:"cgroup"`
			Seccomp struct {
				Enabled *bool    `json:"enabled"`
				Actions []string `json:"actions"`
			} `json:"seccomp"`
		} `json:"linux"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("features is not JSON: %v", err)
	}
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" || len(f.Hooks) < 6 || len(f.MountOptions) == 0 {
		t.Fatalf("features: %+v", f)
	}
	if !contains(f.Linux.Namespaces, "pid") || !contains(f.Linux.Capabilities, "CAP_CHOWN") {
		t.Fatalf("features.linux: %+v", f.Linux)
	}
	if f.Linux.Seccomp.Enabled == nil || !*f.Linux.Seccomp.Enabled || !contains(f.Linux.Seccomp.Actions, "SCMP_ACT_ERRNO") {
		t.Fatalf("features.linux.seccomp: %+v (quilt is built with seccomp)", f.Linux.Seccomp)
	}
}

func TestCheckpointWithoutCRIU(t *testing.T) {
	quiltOnly(t, "fails half-way through a dump where criu check fails")
	h := newHarness(t)
	if err := exec.Command("criu", "check").Run(); err == nil {
		t.Skip("criu check passes on this host: the failure path cannot be exercised")
	}
	_, id := h.runDetached()
	before := h.state(id)
	images := filepath.Join(h.dir, "images")
	r := h.exec("checkpoint", "--image-path", images, id)
	wantError(t, r, id, "criu")
	after := h.state(id)
	if after.Status != "running" || after.Pid != before.Pid {
		t.Fatalf("container changed by a failed checkpoint: %+v -> %+v", before, after)
	}
	if r := h.exec("exec", id, "true"); r.code != 0 {
		t.Fatalf("container no longer usable after a failed checkpoint: %v", r)
	}
}

// TestAddressSpaceLimit: an RLIMIT_AS below what the runtime's own init
// process uses (a Go program reserves more than a GiB of address space)
// must still let the container start with a seccomp filter, and bind the
// container's program.
func TestAddressSpaceLimit(t *testing.T) {
	quiltOnly(t, "applies RLIMIT_AS before building the seccomp filter and fails with ENOMEM")
	h := newHarness(t)
	const limit = 1 << 30
	out := h.runOutput(shell("ulimit -v; ulimit -H -v"), func(s *specs.Spec) {
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_AS", Soft: limit, Hard: limit})
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"kexec_load"}, Action: specs.ActErrno}},
		}
	})
	if want := "1048576\n1048576\n"; out != want {
		t.Fatalf("ulimit -v in the container = %q, want %q", out, want)
	}
}
