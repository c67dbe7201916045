package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/quilt-runtime/quilt/bench/internal/benchstat"
)

// runtimeInfo names one runtime in a report.
type runtimeInfo struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// metric is one row of a report: both runtimes' summaries of one series.
type metric struct {
	Name        string
	Unit        unit
	Quilt, Runc benchstat.Summary
	Ratio       float64      // quilt median / runc median
	Raw         [2][]float64 // the samples, quilt then runc
}

// report is what the harness prints, as a table or as JSON.
type report struct {
	Host        hostInfo               `json:"host"`
	Runtimes    map[string]runtimeInfo `json:"runtimes"`
	Iterations  int                    `json:"iterations"`
	Spec        string                 `json:"spec"`
	Interrupted bool                   `json:"interrupted,omitempty"`
	Metrics     []metric               `json:"-"` // written by writeJSON
}

// hostInfo describes the machine a report comes from.
type hostInfo struct {
	Kernel string `json:"kernel"`
	CPUs   int    `json:"cpus"`
	Cgroup string `json:"cgroup"`
	Go     string `json:"go"`
}

// metrics summarizes every series of res.
func metrics(res *results) []metric {
	var ms []metric
	for _, s := range res.list {
		q, r := benchstat.Summarize(s.samples[quiltIdx]), benchstat.Summarize(s.samples[runcIdx])
		ms = append(ms, metric{
			Name:  s.name,
			Unit:  s.unit,
			Quilt: q,
			Runc:  r,
			Ratio: benchstat.Ratio(q.Median, r.Median),
			Raw:   s.samples,
		})
	}
	return ms
}

// writeJSON writes rep as indented JSON; NaN statistics (a runtime without
// samples) are written as null.
func writeJSON(w io.Writer, rep report) error {
	type jsonSummary struct {
		N      int      `json:"n"`
		Median *float64 `json:"median"`
		P90    *float64 `json:"p90"`
		Min    *float64 `json:"min"`
		Max    *float64 `json:"max"`
	}
	num := func(f float64) *float64 {
		if math.IsNaN(f) {
			return nil
		}
		return &f
	}
	conv := func(s benchstat.Summary) jsonSummary {
		return jsonSummary{s.N, num(s.Median), num(s.P90), num(s.Min), num(s.Max)}
	}
	type jsonMetric struct {
		Name    string       `json:"name"`
		Unit    unit         `json:"unit"`
		Quilt   jsonSummary  `json:"quilt"`
		Runc    jsonSummary  `json:"runc"`
		Ratio   *float64     `json:"ratio"`
		Samples [2][]float64 `json:"samples"`
	}
	out := struct {
		report
		Metrics []jsonMetric `json:"metrics"`
	}{report: rep}
	for _, m := range rep.Metrics {
		out.Metrics = append(out.Metrics, jsonMetric{m.Name, m.Unit, conv(m.Quilt), conv(m.Runc), num(m.Ratio), m.Raw})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// writeTable writes rep for people: the runtimes, then a latency table and
// a peak RSS table with medians, ratios and p90s.
func writeTable(w io.Writer, rep report) error {
	var b strings.Builder
	for _, name := range []string{"quilt", "runc"} {
		ri := rep.Runtimes[name]
		fmt.Fprintf(&b, "%-6s %s\n       %s\n", name+":", ri.Version, ri.Path)
	}
	fmt.Fprintf(&b, "host:  linux %s, %d CPUs, cgroup %s, harness %s\n", rep.Host.Kernel, rep.Host.CPUs, rep.Host.Cgroup, rep.Host.Go)
	fmt.Fprintf(&b, "setup: %d iterations (parallel/N: fewer batches), runtimes interleaved; %s\n", rep.Iterations, rep.Spec)
	if rep.Interrupted {
		b.WriteString("INTERRUPTED: partial results\n")
	}
	b.WriteString("\n")

	width := len("peak RSS")
	for _, m := range rep.Metrics {
		width = max(width, len(m.Name))
	}
	name := func(s string) string { return fmt.Sprintf("%-*s", width, s) }
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tquilt med\trunc med\tquilt/runc\tquilt p90\trunc p90\tp90 ratio\tn\t\n", name("latency"))
	for _, m := range rep.Metrics {
		if m.Unit != unitNanos {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name(m.Name),
			benchstat.FormatDuration(m.Quilt.Median), benchstat.FormatDuration(m.Runc.Median), benchstat.FormatRatio(m.Ratio),
			benchstat.FormatDuration(m.Quilt.P90), benchstat.FormatDuration(m.Runc.P90), benchstat.FormatRatio(benchstat.Ratio(m.Quilt.P90, m.Runc.P90)), min(m.Quilt.N, m.Runc.N))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	fmt.Fprintf(tw, "%s\tquilt med\trunc med\tquilt/runc\tquilt max\trunc max\t\tn\t\n", name("peak RSS"))
	for _, m := range rep.Metrics {
		if m.Unit != unitKiB {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\t%d\t\n", name(strings.TrimPrefix(m.Name, "rss/")),
			fmtKiB(m.Quilt.Median), fmtKiB(m.Runc.Median), benchstat.FormatRatio(m.Ratio),
			fmtKiB(m.Quilt.Max), fmtKiB(m.Runc.Max), min(m.Quilt.N, m.Runc.N))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\nratio = quilt/runc of the medians: <= 1.00 means quilt is no slower (no bigger).\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtKiB(k float64) string {
	if math.IsNaN(k) {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", k/1024)
}
