package main

import (
	"testing"
)

func TestResultsKeepOrder(t *testing.T) {
	r := newResults()
	r.add("b", unitNanos, 0, 1)
	r.add("a", unitKiB, 1, 2)
	r.add("b", unitNanos, 1, 3)
	if len(r.list) != 2 || r.list[0].name != "b" || r.list[1].name != "a" {
		t.Fatalf("order = %v, want b then a", r.list)
	}
	b := r.byID["b"]
	if len(b.samples[0]) != 1 || len(b.samples[1]) != 1 || b.samples[1][0] != 3 {
		t.Errorf("series b samples = %v", b.samples)
	}
	if r.byID["a"].unit != unitKiB {
		t.Errorf("series a unit = %q, want %q", r.byID["a"].unit, unitKiB)
	}
}
