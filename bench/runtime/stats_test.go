package main

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want summary
	}{
		{"one", []float64{7}, summary{N: 1, Median: 7, P90: 7, Min: 7, Max: 7}},
		{"even count averages the middle", []float64{4, 1, 3, 2}, summary{N: 4, Median: 2.5, P90: 3.7, Min: 1, Max: 4}},
		{"odd count", []float64{5, 1, 3}, summary{N: 3, Median: 3, P90: 4.6, Min: 1, Max: 5}},
		{"ten values", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, summary{N: 10, Median: 5.5, P90: 9.1, Min: 1, Max: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			got := summarize(tt.in)
			if got.N != tt.want.N || !near(got.Median, tt.want.Median) || !near(got.P90, tt.want.P90) ||
				got.Min != tt.want.Min || got.Max != tt.want.Max {
				t.Errorf("summarize(%v) = %+v, want %+v", in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("summarize sorted its input: %v", tt.in)
				}
			}
		})
	}
}

func TestSummarizeEmpty(t *testing.T) {
	got := summarize(nil)
	if got.N != 0 || !math.IsNaN(got.Median) || !math.IsNaN(got.P90) {
		t.Errorf("summarize(nil) = %+v, want N 0 and NaN statistics", got)
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		a, b float64
		want float64
	}{
		{1, 2, 0.5},
		{3, 3, 1},
		{1, 0, math.NaN()},
		{0, 1, math.NaN()},
		{math.NaN(), 1, math.NaN()},
	}
	for _, tt := range tests {
		got := ratio(tt.a, tt.b)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && !near(got, tt.want)) {
			t.Errorf("ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

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

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
