package main

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
