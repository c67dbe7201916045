package main

import (
	"math"
	"slices"
)

// summary describes one tool's samples of one metric.
type summary struct {
	N      int
	Mean   float64
	Median float64
	P90    float64
	Min    float64
	Max    float64
}

// summarize computes the summary of v; v is not modified. An empty v gives
// NaN statistics and N 0.
func summarize(v []float64) summary {
	if len(v) == 0 {
		nan := math.NaN()
		return summary{Mean: nan, Median: nan, P90: nan, Min: nan, Max: nan}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return summary{
		N:      len(s),
		Mean:   sum / float64(len(s)),
		Median: quantile(s, 0.5),
		P90:    quantile(s, 0.9),
		Min:    s[0],
		Max:    s[len(s)-1],
	}
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

// results collects series in the order they were first added.
type results struct {
	list []*series
	byID map[string]*series
}

func newResults() *results {
	return &results{byID: map[string]*series{}}
}

// add appends value v of tool index tool to the series name.
func (r *results) add(name string, u unit, tool int, v float64) {
	s, ok := r.byID[name]
	if !ok {
		s = &series{name: name, unit: u}
		r.byID[name] = s
		r.list = append(r.list, s)
	}
	s.samples[tool] = append(s.samples[tool], v)
}
