package main

import (
	"errors"
	"math"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  error
	}{
		{"512", 512 * mib, nil},
		{"512M", 512 * mib, nil},
		{"512m", 512 * mib, nil},
		{"512MB", 512 * mib, nil},
		{"512 MiB", 512 * mib, nil},
		{" 64MiB ", 64 * mib, nil},
		{"1G", gib, nil},
		{"1.5g", 3 * gib / 2, nil},
		{"1.5", 3 * mib / 2, nil},
		{"0.5k", 512, nil},
		{"1048576b", mib, nil},
		{"1048576B", mib, nil},
		{"2t", 2 * tib, nil},
		{"1KiB", kib, nil},
		{"0.1b", 0, errNotPositive},
		{"0", 0, errNotPositive},
		{"0M", 0, errNotPositive},
		{"0.0", 0, errNotPositive},
		{"-1", 0, errNotPositive},
		{"-512M", 0, errNotPositive},
		{"-", 0, errInvalidSize},
		{"-x", 0, errInvalidSize},
		{"", 0, errInvalidSize},
		{"M", 0, errInvalidSize},
		{"lots", 0, errInvalidSize},
		{"12x", 0, errInvalidSize},
		{"1.2.3", 0, errInvalidSize},
		{"1.", 0, errInvalidSize},
		{".5", 0, errInvalidSize},
		{"+5", 0, errInvalidSize},
		{"1e3", 0, errInvalidSize},
		{"inf", 0, errInvalidSize},
		{"NaN", 0, errInvalidSize},
		{"5 M B", 0, errInvalidSize},
		{"5MiBs", 0, errInvalidSize},
		{"0x10", 0, errInvalidSize},
		{"8388608T", 0, errTooLarge},
		{"99999999999999999999", 0, errTooLarge},
		{"9223372036854775807b", math.MaxInt64, nil},
		{"8388607.5T", 8388607*tib + tib/2, nil},
		{"8388607.99999999999999T", math.MaxInt64, nil},
		{"8388607.99999999999999999T", 0, errTooLarge},
	} {
		got, err := parseSize(tc.in, mib)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("parseSize(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"512", "1.5g", "64MiB", "-1", "1048576b", "8388608T", "0.000001k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s, mib)
		if err == nil && n <= 0 {
			t.Errorf("parseSize(%q) = %d without an error", s, n)
		}
		if err != nil && n != 0 {
			t.Errorf("parseSize(%q) = %d with %v", s, n, err)
		}
	})
}

func TestFormatSize(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want string
	}{
		{0, "0B"},
		{512, "512B"},
		{1023, "1023B"},
		{kib, "1KiB"},
		{1536, "1.5KiB"},
		{64 * mib, "64MiB"},
		{100000000, "95.37MiB"},
		{3 * gib / 2, "1.5GiB"},
		{math.MaxUint64, "16EiB"},
	} {
		if got := formatSize(tc.in); got != tc.want {
			t.Errorf("formatSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  error
	}{
		{"1", 100000, nil},
		{"1.5", 150000, nil},
		{"0.01", 1000, nil},
		{"0.25", 25000, nil},
		{"64", 6400000, nil},
		{"0.001", 0, errTooFewCPUs},
		{"0", 0, errNotPositive},
		{"-2", 0, errNotPositive},
		{"two", 0, errInvalidCPUs},
		{"NaN", 0, errInvalidCPUs},
		{"Inf", 0, errInvalidCPUs},
		{"1e300", 0, errTooLarge},
	} {
		got, err := parseCPUs(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("parseCPUs(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
