// Package benchstat holds what Quilt's benchmark harnesses share: the
// summary statistics of a series of samples, ratios, their formatting in
// reports, and the host's cgroup mode.
package benchstat

import (
	"fmt"
	"math"
	"os"
	"slices"
)

// Summary describes one tool's samples of one metric.
type Summary struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Summarize computes the summary of v; v is not modified. An empty v
// gives NaN statistics and N 0.
func Summarize(v []float64) Summary {
	if len(v) == 0 {
		nan := math.NaN()
		return Summary{0, nan, nan, nan, nan, nan}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return Summary{len(s), sum / float64(len(s)), quantile(s, 0.5), quantile(s, 0.9), s[0], s[len(s)-1]}
}

// quantile returns the q-quantile (0 <= q <= 1) of the sorted, non-empty
// slice s, interpolating linearly between the two closest ranks (R's
// "type 7", NumPy's default).
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Ratio returns a/b, or NaN when either is not a positive number.
func Ratio(a, b float64) float64 {
	if !(a > 0) || !(b > 0) {
		return math.NaN()
	}
	return a / b
}

// FormatDuration formats nanoseconds as milliseconds (seconds from 1 s
// on) with about three significant digits; NaN is "-".
func FormatDuration(ns float64) string {
	switch ms := ns / 1e6; {
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

// FormatRatio formats a ratio with two decimals; NaN is "-".
func FormatRatio(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}

// CgroupMode says how the host mounts cgroups: "v2", "v1 (hybrid)" (v1
// controllers and cgroup2 at /sys/fs/cgroup/unified) or "v1".
func CgroupMode() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "v2"
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
		return "v1 (hybrid)"
	}
	return "v1"
}
