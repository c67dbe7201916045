package main

import (
	"math"
	"slices"
)

// summary describes one tool's samples of one metric.
type summary struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// summarize computes the summary of v; v is not modified. An empty v gives
// NaN statistics and N 0.
func summarize(v []float64) summary {
	if len(v) == 0 {
		nan := math.NaN()
		return summary{0, nan, nan, nan, nan, nan}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return summary{len(s), sum / float64(len(s)), quantile(s, 0.5), quantile(s, 0.9), s[0], s[len(s)-1]}
}

// quantile returns the q-quantile (0 <= q <= 1) of the sorted, non-empty
// slice s, interpolating linearly between the two closest ranks (R's
// "type 7", NumPy's default), as bench/runtime does.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// ratio returns a/b, or NaN when either is not a positive number.
func ratio(a, b float64) float64 {
	if !(a > 0) || !(b > 0) {
		return math.NaN()
	}
	return a / b
}

// unit says how a metric's values are measured.
type unit string

const (
	unitNanos unit = "ns"
	unitKiB   unit = "KiB"
)

// Tool indexes: the order of the columns and of the interleaving.
const (
	quiltIdx = iota
	ctrIdx
	podmanIdx
	nTools
)

// series holds the samples of one metric for every tool, by tool index.
type series struct {
	name    string
	unit    unit
	samples [nTools][]float64
}

// results holds series in the order they were first added.
type results []*series

// add appends value v of tool index tool to the series name.
func (r *results) add(name string, u unit, tool int, v float64) {
	i := slices.IndexFunc(*r, func(s *series) bool { return s.name == name })
	if i < 0 {
		i = len(*r)
		*r = append(*r, &series{name: name, unit: u})
	}
	(*r)[i].samples[tool] = append((*r)[i].samples[tool], v)
}
