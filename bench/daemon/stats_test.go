package main

import (
	"math"
	"slices"
	"testing"
)

func TestResultsKeepOrder(t *testing.T) {
	var r results
	r.add("b", unitNanos, quiltIdx, 1)
	r.add("a", unitKiB, podmanIdx, 2)
	r.add("b", unitNanos, ctrIdx, 3)
	if len(r) != 2 || r[0].name != "b" || r[1].name != "a" || r[1].unit != unitKiB {
		t.Fatalf("results = %v, want b then a (KiB)", r)
	}
	if b := r[0].samples; len(b[quiltIdx]) != 1 || !slices.Equal(b[ctrIdx], []float64{3}) || len(b[podmanIdx]) != 0 {
		t.Errorf("series b samples = %v", b)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
