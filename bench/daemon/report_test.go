package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// testReport has quiltctl at 40% of ctr's run median and 20% of podman's,
// an API exec median of 12 ms (missed) and logs of 3 ms (met), exec and
// logs through quiltctl of 30 and 20 ms (not judged), no ctr logs, and
// quilt-init's USS at half the shim's.
func testReport() report {
	var res results
	for _, v := range []float64{90e6, 110e6, 100e6} {
		res.add("run", unitNanos, quiltIdx, v)
		res.add("run", unitNanos, ctrIdx, 2.5*v)
		res.add("run", unitNanos, podmanIdx, 5*v)
		res.add("client start", unitNanos, quiltIdx, 15e6)
		res.add("exec", unitNanos, quiltIdx, 30e6)
		res.add("logs", unitNanos, quiltIdx, 20e6)
		res.add("logs", unitNanos, podmanIdx, 40e6)
		res.add("exec (API)", unitNanos, quiltIdx, 12e6)
		res.add("logs (API)", unitNanos, quiltIdx, 3e6)
	}
	res.add("memory/USS", unitKiB, quiltIdx, 1024)
	res.add("memory/USS", unitKiB, quiltIdx, 1536)
	res.add("memory/USS", unitKiB, ctrIdx, 2560)
	res.add("memory/USS", unitKiB, podmanIdx, 512)
	ms := metrics(res)
	return report{
		Host: hostInfo{Kernel: "6.1", CPUs: 2, Cgroup: "v2", Go: "go1.26", LoadStart: "1.00 0.50 0.20", LoadEnd: "2.00 1.00 0.40"},
		Tools: []toolInfo{
			{"quiltctl", "/q", "quiltctl version 0.1.0", "private quiltd"},
			{"ctr", "/c", "ctr 1.6", "private containerd"},
			{"podman", "/p", "podman version 4.3.1", "private storage, runc"},
		},
		Iterations: 3, Containers: 2, Metrics: ms, Targets: targets(ms),
	}
}

func TestTargets(t *testing.T) {
	got := map[string]targetResult{}
	for _, tr := range testReport().Targets {
		got[tr.Label] = tr
	}
	want := map[string]struct {
		value float64
		met   bool
	}{
		"run: quiltctl/ctr":           {0.4, true},
		"run: quiltctl/podman":        {0.2, true},
		"exec: median (API)":          {12e6, false},
		"logs: median (API)":          {3e6, true},
		"memory: USS quilt-init/shim": {0.5, true},
	}
	if len(got) != len(want) {
		t.Errorf("targets = %+v, want %d", got, len(want))
	}
	for label, w := range want {
		g, ok := got[label]
		if !ok || !near(g.Value, w.value) || g.Met != w.met {
			t.Errorf("target %q = %+v, want value %v met %v", label, g, w.value, w.met)
		}
	}
}

func TestTargetsLeaveOutMissingTools(t *testing.T) {
	var res results
	res.add("run", unitNanos, quiltIdx, 1e6)
	if got := targets(metrics(res)); len(got) != 0 {
		t.Errorf("targets without ctr and podman samples = %+v, want none", got)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, testReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"quiltctl version 0.1.0 (private quiltd)", "podman version 4.3.1", "cgroup v2",
		"load average 1.00 0.50 0.20 at start, 2.00 1.00 0.40 at end",
		"100.0ms", "250.0ms", "500.0ms", "0.40", "0.20", // run: medians and ratios
		"1.25MiB", "2.50MiB", // mean USS of quilt-init and the shim
		"12.0ms  <= 10.0ms  MISSED", "3.00ms  <= 5.00ms  met", "0.50  <= 1.00    met",
		"(through quiltctl: exec 30.0ms and logs 20.0ms, each with quiltctl's start of 15.0ms)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		// ctr has no logs: its median, p90 and ratio cells are "-".
		if f := strings.Fields(l); len(f) > 1 && f[0] == "logs" && f[1] != "(API)" && strings.Count(l, " - ") != 3 {
			t.Errorf("logs line %q: want three '-' cells", l)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, testReport()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Host    hostInfo
		Tools   []toolInfo `json:"tools"`
		Metrics []struct {
			Name  string `json:"name"`
			Unit  string `json:"unit"`
			Tools map[string]struct {
				N       int
				Median  float64
				Samples []float64
			} `json:"tools"`
		} `json:"metrics"`
		Targets []targetResult `json:"targets"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b.String())
	}
	if len(got.Metrics) != 7 || len(got.Tools) != 3 || got.Tools[1].Name != "ctr" || len(got.Targets) != 5 {
		t.Fatalf("report = %+v", got)
	}
	run, logs := got.Metrics[0], got.Metrics[3]
	if run.Name != "run" || run.Unit != "ns" || run.Tools["ctr"].N != 3 || run.Tools["ctr"].Median != 250e6 || len(run.Tools["podman"].Samples) != 3 {
		t.Errorf("run metric = %+v", run)
	}
	if _, ok := logs.Tools["ctr"]; ok || logs.Name != "logs" {
		t.Errorf("logs metric = %+v, want no ctr entry", logs)
	}
}
