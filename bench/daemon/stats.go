package main

import (
	"slices"
)

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
