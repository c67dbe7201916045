//go:build linux

package main

import (
	"errors"
	"io"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
		check   func(t *testing.T, o options)
	}{
		{"defaults", nil, nil, func(t *testing.T, o options) {
			if o.Quilt != "bin/quilt" || o.Runc != "/usr/sbin/runc" || o.Iterations != 40 || o.SpecFrom != "runc" ||
				o.Filter != nil || o.JSON || o.Timeout != 2*time.Minute || !slices.Equal(o.Parallel, []int{1, 10, 50, 100}) {
				t.Errorf("defaults = %+v", o)
			}
		}},
		{"all set", []string{"-quilt", "/q", "-runc", "/r", "-n", "3", "-filter", "^run$", "-parallel", " 4, 2 ,4,", "-json", "-spec", "quilt"}, nil,
			func(t *testing.T, o options) {
				if o.Quilt != "/q" || o.Runc != "/r" || o.Iterations != 3 || !o.JSON || o.SpecFrom != "quilt" ||
					o.Filter.String() != "^run$" || !slices.Equal(o.Parallel, []int{2, 4}) {
					t.Errorf("options = %+v", o)
				}
			}},
		{"no parallel groups", []string{"-parallel", ""}, nil, func(t *testing.T, o options) {
			if len(o.Parallel) != 0 {
				t.Errorf("parallel = %v, want none", o.Parallel)
			}
		}},
		{"zero iterations", []string{"-n", "0"}, ErrBadFlag, nil},
		{"bad spec source", []string{"-spec", "crun"}, ErrBadFlag, nil},
		{"bad filter", []string{"-filter", "("}, ErrBadFlag, nil},
		{"bad size", []string{"-parallel", "1,x"}, ErrBadFlag, nil},
		{"negative size", []string{"-parallel", "-3"}, ErrBadFlag, nil},
		{"stray argument", []string{"run"}, ErrBadFlag, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("parseFlags(%q) error = %v, want %v", tt.args, err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestParallelIterations(t *testing.T) {
	tests := []struct{ n, batch, want int }{
		{40, 1, 40},
		{40, 10, 20},
		{40, 50, 5},
		{40, 20, 10},
		{40, 100, 5},
		{40, 1000, 5},
		{3, 100, 3},
		{1, 1, 1},
	}
	for _, tt := range tests {
		if got := parallelIterations(tt.n, tt.batch); got != tt.want {
			t.Errorf("parallelIterations(%d, %d) = %d, want %d", tt.n, tt.batch, got, tt.want)
		}
	}
}

func TestGroupsFilter(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"run", "lifecycle", "parallel/1", "parallel/10"}},
		{"^run$", []string{"run"}},
		{"parallel/1$", []string{"parallel/1"}},
		{"parallel", []string{"parallel/1", "parallel/10"}},
		{"life|run", []string{"run", "lifecycle"}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		o := options{Iterations: 5, Parallel: []int{1, 10}}
		if tt.filter != "" {
			o.Filter = regexp.MustCompile(tt.filter)
		}
		b := &bench{opts: o}
		var got []string
		for _, g := range b.groups() {
			got = append(got, g.name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %q selects %q, want %q", tt.filter, got, tt.want)
		}
	}
}

func TestFirstError(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	if err := firstError([]error{nil, nil}); err != nil {
		t.Errorf("no failures: %v", err)
	}
	if err := firstError([]error{nil, a}); err != a {
		t.Errorf("one failure: %v, want a", err)
	}
	err := firstError([]error{b, nil, a})
	if !errors.Is(err, b) || err.Error() != "2 of 3 runs failed, first: b" {
		t.Errorf("two failures: %v", err)
	}
}
