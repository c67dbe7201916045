package benchstat

import (
	"math"
	"slices"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Summary
	}{
		{"one", []float64{7}, Summary{N: 1, Mean: 7, Median: 7, P90: 7, Min: 7, Max: 7}},
		{"even count averages the middle", []float64{4, 1, 3, 2}, Summary{N: 4, Mean: 2.5, Median: 2.5, P90: 3.7, Min: 1, Max: 4}},
		{"odd count", []float64{5, 1, 3}, Summary{N: 3, Mean: 3, Median: 3, P90: 4.6, Min: 1, Max: 5}},
		{"skewed: mean above median", []float64{1, 1, 1, 9}, Summary{N: 4, Mean: 3, Median: 1, P90: 6.6, Min: 1, Max: 9}},
		{"ten values", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Summary{N: 10, Mean: 5.5, Median: 5.5, P90: 9.1, Min: 1, Max: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := Summarize(tt.in)
			if got.N != tt.want.N || !near(got.Mean, tt.want.Mean) || !near(got.Median, tt.want.Median) ||
				!near(got.P90, tt.want.P90) || got.Min != tt.want.Min || got.Max != tt.want.Max {
				t.Errorf("Summarize(%v) = %+v, want %+v", in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("Summarize sorted its input: %v", tt.in)
			}
		})
	}
}

func TestSummarizeEmpty(t *testing.T) {
	got := Summarize(nil)
	if got.N != 0 || !math.IsNaN(got.Mean) || !math.IsNaN(got.Median) || !math.IsNaN(got.P90) {
		t.Errorf("Summarize(nil) = %+v, want N 0 and NaN statistics", got)
	}
}

func TestRatio(t *testing.T) {
	tests := []struct{ a, b, want float64 }{
		{1, 2, 0.5},
		{3, 3, 1},
		{1, 0, math.NaN()},
		{0, 1, math.NaN()},
		{-1, 1, math.NaN()},
		{math.NaN(), 1, math.NaN()},
	}
	for _, tt := range tests {
		got := Ratio(tt.a, tt.b)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && !near(got, tt.want)) {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
