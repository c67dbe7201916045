package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func testReport() report {
	res := newResults()
	for i, v := range []float64{90e6, 110e6, 100e6} {
		res.add("run", unitNanos, quiltIdx, v)
		res.add("run", unitNanos, runcIdx, 2*v)
		res.add("rss/run", unitKiB, quiltIdx, 10240+float64(i))
	}
	return report{
		Host:       hostInfo{Kernel: "6.1", CPUs: 2, Cgroup: "v2", Go: "go1.26"},
		Runtimes:   map[string]runtimeInfo{"quilt": {"/q", "quilt version dev"}, "runc": {"/r", "runc version 1.1"}},
		Iterations: 3,
		Spec:       "config.json from `runc spec`",
		Metrics:    metrics(res),
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, testReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"quilt version dev", "runc version 1.1", "cgroup v2",
		"100.0ms", "200.0ms", "0.50", // run: medians and ratio
		"10.0MiB", // rss/run quilt median
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	var rssLine string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "run") && strings.Contains(l, "MiB") {
			rssLine = l
		}
	}
	// runc has no RSS samples: its cells and the ratio are "-".
	if strings.Count(rssLine, " -") != 3 {
		t.Errorf("rss line %q: want three '-' cells", rssLine)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, testReport()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Runtimes map[string]runtimeInfo `json:"runtimes"`
		Metrics  []struct {
			Name  string `json:"name"`
			Unit  string `json:"unit"`
			Quilt struct {
				N      int      `json:"n"`
				Median *float64 `json:"median"`
			} `json:"quilt"`
			Runc struct {
				Median *float64 `json:"median"`
			} `json:"runc"`
			Ratio   *float64     `json:"ratio"`
			Samples [2][]float64 `json:"samples"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b.String())
	}
	if len(got.Metrics) != 2 || got.Runtimes["quilt"].Path != "/q" {
		t.Fatalf("report = %+v", got)
	}
	run, rss := got.Metrics[0], got.Metrics[1]
	if run.Name != "run" || run.Unit != "ns" || run.Quilt.N != 3 || *run.Quilt.Median != 100e6 ||
		math.Abs(*run.Ratio-0.5) > 1e-9 || len(run.Samples[1]) != 3 {
		t.Errorf("run metric = %+v", run)
	}
	if rss.Name != "rss/run" || rss.Unit != "KiB" || rss.Runc.Median != nil || rss.Ratio != nil {
		t.Errorf("rss metric = %+v, want null runc median and ratio", rss)
	}
}
