package integration

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// resources returns the config's linux.resources, made if missing.
func resources(s *specs.Spec) *specs.LinuxResources {
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	return s.Linux.Resources
}

// wantCgroupValue checks one file of the container's cgroup.
func wantCgroupValue(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("container cgroup: %v", err)
		return
	}
	if got := strings.TrimSpace(string(b)); got != want {
		t.Errorf("%s = %s, want %s", path, got, want)
	}
}

// TestMemoryLimit checks that linux.resources.memory reaches the
// container's cgroup, that a process within the limit runs, and that one
// over it is OOM-killed (run exits 128+SIGKILL).
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const limit = 32 << 20
	limitMemory := func(s *specs.Spec) {
		l := int64(limit)
		resources(s).Memory = &specs.LinuxMemory{Limit: &l, Swap: &l}
	}

	b := h.bundle(testinit("alloc", "8"), limitMemory)
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	wantCgroupValue(t, cgroupFile(b.cgroup, "memory", "memory.limit_in_bytes", "memory.max"), strconv.Itoa(limit))
	if memsw := cgroupFile(b.cgroup, "memory", "memory.memsw.limit_in_bytes", "memory.swap.max"); strings.HasSuffix(memsw, "memsw.limit_in_bytes") {
		if _, err := os.Stat(memsw); err == nil { // only with swap accounting
			wantCgroupValue(t, memsw, strconv.Itoa(limit))
		}
	} else {
		wantCgroupValue(t, memsw, "0") // cgroup2: swap beyond memory
	}
	h.mustExec("start", id)
	waitFile(t, cr.outPath, "allocated=8")
	h.mustExec("delete", "--force", id)

	big := h.bundle(testinit("alloc", "64"), limitMemory)
	r := h.runFg(big, h.id())
	if r.code != 137 {
		t.Errorf("allocating 64 MiB under a 32 MiB limit: %v\nwant exit 137 (OOM kill)", r)
	}
	if strings.Contains(r.stdout, "allocated") {
		t.Errorf("the process allocated 64 MiB under a 32 MiB limit: %q", r.stdout)
	}
}

// TestPidsLimit checks that linux.resources.pids reaches the container's
// cgroup and stops forks beyond it.
func TestPidsLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("forks", "20"), func(s *specs.Spec) {
		limit := int64(10)
		resources(s).Pids = &specs.LinuxPids{Limit: &limit}
	})
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	wantCgroupValue(t, cgroupFile(b.cgroup, "pids", "pids.max", "pids.max"), "10")
	h.mustExec("start", id)
	h.waitStatus(id, "stopped")
	out := readFile(cr.outPath)
	m := regexp.MustCompile(`forked=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("testinit forks: %q, stderr %q", out, readFile(cr.errPath))
	}
	t.Logf("testinit forks 20: %s", strings.TrimSpace(out))
	// testinit's own threads count too, so fewer than 10 children fit.
	if n, _ := strconv.Atoi(m[1]); n < 1 || n >= 10 {
		t.Errorf("forked %d of 20 children under pids.limit 10, want 1 to 9", n)
	}
	if !strings.Contains(out, "resource temporarily unavailable") {
		t.Errorf("forks beyond the limit did not fail with EAGAIN: %q", out)
	}
	h.mustExec("delete", id)
}
