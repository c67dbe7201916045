package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// toolInfo names one tool in a report.
type toolInfo struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Version string `json:"version"`
	Note    string `json:"note"`
}

// hostInfo describes the machine and its load while the harness ran.
type hostInfo struct {
	Kernel    string `json:"kernel"`
	CPUs      int    `json:"cpus"`
	Cgroup    string `json:"cgroup"`
	Go        string `json:"go"`
	LoadStart string `json:"loadStart"`
	LoadEnd   string `json:"loadEnd"`
}

// metric is one row of a report: every tool's summary of one series.
type metric struct {
	Name string
	Unit unit
	Sum  [nTools]summary
	Raw  [nTools][]float64
}

// targetResult is one "Done when" figure of issue 5 and whether it is met.
type targetResult struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  unit    `json:"unit,omitempty"` // empty for a ratio
	Met   bool    `json:"met"`
}

// report is what the harness prints, as a table or as JSON.
type report struct {
	Host        hostInfo       `json:"host"`
	Tools       []toolInfo     `json:"tools"` // by tool index; empty name: left out
	Iterations  int            `json:"iterations"`
	Containers  int            `json:"containers"`
	Interrupted bool           `json:"interrupted,omitempty"`
	Metrics     []metric       `json:"-"` // written by writeJSON
	Targets     []targetResult `json:"targets"`
}

// metrics summarizes every series of res.
func metrics(res *results) []metric {
	var ms []metric
	for _, s := range res.list {
		m := metric{Name: s.name, Unit: s.unit, Raw: s.samples}
		for k := range nTools {
			m.Sum[k] = summarize(s.samples[k])
		}
		ms = append(ms, m)
	}
	return ms
}

// targets checks the figures of issue 5: run at most 0.5x ctr's and
// 0.25x podman's median, exec at most 10 ms and logs at most 5 ms median,
// and the USS quilt adds per container no more than the shim's. A figure
// without samples is left out.
func targets(ms []metric) []targetResult {
	by := map[string]metric{}
	for _, m := range ms {
		by[m.Name] = m
	}
	var out []targetResult
	add := func(label string, v, limit float64, u unit) {
		if !math.IsNaN(v) {
			out = append(out, targetResult{label, v, limit, u, v <= limit})
		}
	}
	if m, ok := by["run"]; ok {
		add("run: quiltctl/ctr", ratio(m.Sum[quiltIdx].Median, m.Sum[ctrIdx].Median), 0.5, "")
		add("run: quiltctl/podman", ratio(m.Sum[quiltIdx].Median, m.Sum[podmanIdx].Median), 0.25, "")
	}
	if m, ok := by["exec"]; ok {
		add("exec: quiltctl median", m.Sum[quiltIdx].Median, 10e6, unitNanos)
	}
	if m, ok := by["logs"]; ok {
		add("logs: quiltctl median", m.Sum[quiltIdx].Median, 5e6, unitNanos)
	}
	if m, ok := by["memory/USS"]; ok {
		add("memory: USS quilt-init/shim", ratio(m.Sum[quiltIdx].Mean, m.Sum[ctrIdx].Mean), 1, "")
	}
	return out
}

// writeJSON writes rep as indented JSON; NaN statistics (a tool without
// samples) are written as null.
func writeJSON(w io.Writer, rep report) error {
	type jsonSummary struct {
		N                           int
		Mean, Median, P90, Min, Max *float64
	}
	num := func(f float64) *float64 {
		if math.IsNaN(f) {
			return nil
		}
		return &f
	}
	type jsonMetric struct {
		Name    string                 `json:"name"`
		Unit    unit                   `json:"unit"`
		Tools   map[string]jsonSummary `json:"tools"`
		Samples map[string][]float64   `json:"samples"`
	}
	out := struct {
		report
		Metrics []jsonMetric `json:"metrics"`
	}{report: rep}
	for _, m := range rep.Metrics {
		jm := jsonMetric{Name: m.Name, Unit: m.Unit, Tools: map[string]jsonSummary{}, Samples: map[string][]float64{}}
		for k, s := range m.Sum {
			if k < len(rep.Tools) && rep.Tools[k].Name != "" && s.N > 0 {
				name := rep.Tools[k].Name
				jm.Tools[name] = jsonSummary{s.N, num(s.Mean), num(s.Median), num(s.P90), num(s.Min), num(s.Max)}
				jm.Samples[name] = m.Raw[k]
			}
		}
		out.Metrics = append(out.Metrics, jm)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// writeTable writes rep for people: the tools and host, a latency table
// (medians, ratios to quiltctl, p90s), a memory table (means per
// container) and the targets.
func writeTable(w io.Writer, rep report) error {
	var b strings.Builder
	for _, t := range rep.Tools {
		if t.Name != "" {
			fmt.Fprintf(&b, "%-9s %s (%s)\n          %s\n", t.Name, t.Version, t.Note, t.Path)
		}
	}
	h := rep.Host
	fmt.Fprintf(&b, "host:     linux %s, %d CPUs, cgroup %s, harness %s; load average %s at start, %s at end\n",
		h.Kernel, h.CPUs, h.Cgroup, h.Go, h.LoadStart, h.LoadEnd)
	fmt.Fprintf(&b, "setup:    %d iterations after a warm-up, tools interleaved (the first rotates); memory of %d running containers per tool\n",
		rep.Iterations, rep.Containers)
	if rep.Interrupted {
		b.WriteString("INTERRUPTED: partial results\n")
	}
	memTitle := "memory per container (mean)"
	width := len(memTitle)
	name := func(s string) string { return fmt.Sprintf("%-*s", width, s) }
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\n%s\tquiltctl med\tctr med\tpodman med\tquiltctl/ctr\tquiltctl/podman\tquiltctl p90\tctr p90\tpodman p90\tn\t\n", name("latency"))
	for _, m := range rep.Metrics {
		if m.Unit == unitNanos {
			s := m.Sum
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name(m.Name),
				fmtDur(s[0].Median), fmtDur(s[1].Median), fmtDur(s[2].Median),
				fmtRatio(ratio(s[0].Median, s[1].Median)), fmtRatio(ratio(s[0].Median, s[2].Median)),
				fmtDur(s[0].P90), fmtDur(s[1].P90), fmtDur(s[2].P90), s[0].N)
		}
	}
	fmt.Fprintf(tw, "\n%s\tquilt-init\tshim\tconmon\tquiltctl/ctr\tquiltctl/podman\tquilt-init max\tshim max\tconmon max\tn\t\n", memTitle)
	for _, m := range rep.Metrics {
		if m.Unit == unitKiB {
			s := m.Sum
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name(strings.TrimPrefix(m.Name, "memory/")),
				fmtKiB(s[0].Mean), fmtKiB(s[1].Mean), fmtKiB(s[2].Mean),
				fmtRatio(ratio(s[0].Mean, s[1].Mean)), fmtRatio(ratio(s[0].Mean, s[2].Mean)),
				fmtKiB(s[0].Max), fmtKiB(s[1].Max), fmtKiB(s[2].Max), s[0].N)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n(daemon USS: the daemon's growth divided by the containers started; podman has no daemon)\n\ntargets (issue 5):\n")
	for _, t := range rep.Targets {
		val, lim := fmtRatio(t.Value), fmtRatio(t.Limit)
		if t.Unit == unitNanos {
			val, lim = fmtDur(t.Value), fmtDur(t.Limit)
		}
		verdict := "met"
		if !t.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(&b, "  %-28s %8s  <= %-7s %s\n", t.Label, val, lim, verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtDur formats nanoseconds as milliseconds with about three significant
// digits.
func fmtDur(ns float64) string {
	ms := ns / 1e6
	switch {
	case math.IsNaN(ns):
		return "-"
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
}

func fmtKiB(k float64) string {
	if math.IsNaN(k) {
		return "-"
	}
	return fmt.Sprintf("%.2fMiB", k/1024)
}

func fmtRatio(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}
