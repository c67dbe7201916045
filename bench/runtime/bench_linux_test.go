package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// needRunc skips unless the test runs as root with runc and a static
// busybox installed, and returns runc's path.
func needRunc(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs containers")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("needs runc")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox")
	}
	// The harness makes its temp directory in TMPDIR: a private one shows
	// whether it is removed.
	t.Setenv("TMPDIR", t.TempDir())
	return runc
}

// assertClean fails if the harness left its temp directory or cgroup
// parent behind.
func assertClean(t *testing.T) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(os.Getenv("TMPDIR"), "*"))
	if len(left) > 0 {
		t.Errorf("left in TMPDIR: %q", left)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, mnt := range cgroupMounts(string(info)) {
		p := filepath.Join(mnt, cgroupPrefix+strconv.Itoa(os.Getpid()))
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cgroup %s left behind", p)
		}
	}
}

func TestRuncAgainstItself(t *testing.T) {
	runc := needRunc(t)
	var out, progress bytes.Buffer
	err := run([]string{"-quilt", runc, "-runc", runc, "-n", "2", "-parallel", "3", "-json"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	assertClean(t)
	var rep struct {
		Metrics []struct {
			Name  string `json:"name"`
			Quilt struct {
				N      int      `json:"n"`
				Median *float64 `json:"median"`
			} `json:"quilt"`
			Runc struct {
				N      int      `json:"n"`
				Median *float64 `json:"median"`
			} `json:"runc"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	want := map[string]int{
		"run": 2, "rss/run": 2,
		"lifecycle/create": 2, "lifecycle/start": 2, "lifecycle/wait": 2, "lifecycle/delete": 2, "lifecycle/total": 2,
		"rss/create": 2, "rss/start": 2, "rss/delete": 2,
		"parallel/3/batch": 2, "parallel/3/each": 6,
	}
	for _, m := range rep.Metrics {
		n, ok := want[m.Name]
		if !ok {
			t.Errorf("unexpected metric %q", m.Name)
			continue
		}
		delete(want, m.Name)
		if m.Quilt.N != n || m.Runc.N != n || m.Quilt.Median == nil || *m.Quilt.Median <= 0 || *m.Runc.Median <= 0 {
			t.Errorf("metric %s: quilt %+v runc %+v, want %d positive samples each", m.Name, m.Quilt, m.Runc, n)
		}
	}
	for name := range want {
		t.Errorf("metric %s missing", name)
	}
}

func TestFailingRuntimeIsCleanedUp(t *testing.T) {
	runc := needRunc(t)
	// A runtime whose start fails leaves a created container (with a live
	// init and cgroups) for cleanup to delete.
	bad := filepath.Join(t.TempDir(), "bad-runtime")
	script := "#!/bin/sh\nfor a; do [ \"$a\" = start ] && { echo injected >&2; exit 3; }; done\nexec " + runc + " \"$@\"\n"
	if err := os.WriteFile(bad, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, progress bytes.Buffer
	err := run([]string{"-quilt", bad, "-runc", runc, "-n", "1", "-filter", "lifecycle"}, &out, &progress)
	if !errors.Is(err, ErrCommand) {
		t.Fatalf("run error = %v, want ErrCommand", err)
	}
	if out.Len() != 0 {
		t.Errorf("report printed after a failure:\n%s", out.String())
	}
	assertClean(t)
}
