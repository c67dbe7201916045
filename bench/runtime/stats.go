package main

import (
	"math"
	"slices"
)

// summary describes one runtime's samples of one metric.
type summary struct {
	N      int
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
		return summary{Median: nan, P90: nan, Min: nan, Max: nan}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return summary{
		N:      len(s),
		Median: quantile(s, 0.5),
		P90:    quantile(s, 0.9),
		Min:    s[0],
		Max:    s[len(s)-1],
	}
}

// quantile returns the q-quantile (0 <= q <= 1) of the sorted, non-empty
// slice s, interpolating linearly between the two closest ranks (the
// "type 7" estimator of R and NumPy's default).
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return s[lo] + (s[hi]-s[lo])*frac
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

// series holds the samples of one metric for both runtimes, indexed like
// bench.rts (0 is quilt, 1 is runc).
type series struct {
	name    string
	unit    unit
	samples [2][]float64
}

// results collects series in the order they were first added.
type results struct {
	list []*series
	byID map[string]*series
}

func newResults() *results {
	return &results{byID: map[string]*series{}}
}

// add appends value v for runtime index rt to the series name.
func (r *results) add(name string, u unit, rt int, v float64) {
	s, ok := r.byID[name]
	if !ok {
		s = &series{name: name, unit: u}
		r.byID[name] = s
		r.list = append(r.list, s)
	}
	s.samples[rt] = append(s.samples[rt], v)
}
