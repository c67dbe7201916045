package main

import (
	"math"
	"strconv"
	"strings"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
	tib = 1 << 40
)

// sizeUnits are the units of parseSize, lower case. Memory sizes are binary
// whichever way they are written, as docker reads them: 1M = 1MB = 1MiB.
var sizeUnits = map[string]int64{
	"b": 1,
	"k": kib, "kb": kib, "kib": kib,
	"m": mib, "mb": mib, "mib": mib,
	"g": gib, "gb": gib, "gib": gib,
	"t": tib, "tb": tib, "tib": tib,
}

// parseSize reads a size in bytes: a decimal number with an optional unit
// ("512M", "1.5g", "64MiB", "1048576b"). A number without a unit counts in
// bare bytes (mib for memory flags). The size must be at least one byte.
func parseSize(s string, bare int64) (int64, error) {
	t := strings.TrimSpace(s)
	if rest, neg := strings.CutPrefix(t, "-"); neg {
		if _, err := parseSize(rest, bare); err == nil {
			return 0, errNotPositive
		}
		return 0, errInvalidSize
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	whole, frac, hasFrac := strings.Cut(num, ".")
	if whole == "" || hasFrac && (frac == "" || strings.Contains(frac, ".")) {
		return 0, errInvalidSize
	}
	mult := bare
	if unit != "" {
		m, ok := sizeUnits[unit]
		if !ok {
			return 0, errInvalidSize
		}
		mult = m
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, errTooLarge
	}
	v := n * mult
	if hasFrac {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return 0, errInvalidSize
		}
		part := int64(f * float64(mult))
		if v > math.MaxInt64-part {
			return 0, errTooLarge
		}
		v += part
	}
	if v <= 0 {
		return 0, errNotPositive
	}
	return v, nil
}

// formatSize writes a byte count in binary units with at most two decimals:
// "64MiB", "1.5GiB", "512B".
func formatSize(n uint64) string {
	units := [...]string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + units[i]
}

// cpuPeriod is the CFS period that --cpus sets, in microseconds.
const cpuPeriod = 100000

// parseCPUs reads --cpus (a number of CPUs, "1.5") as a CFS quota over
// cpuPeriod.
func parseCPUs(s string) (int64, error) {
	c, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(c) || math.IsInf(c, 0) {
		return 0, errInvalidCPUs
	}
	if c <= 0 {
		return 0, errNotPositive
	}
	if c > math.MaxInt64/cpuPeriod {
		return 0, errTooLarge
	}
	quota := int64(math.Round(c * cpuPeriod))
	if quota < 1000 {
		return 0, errTooFewCPUs
	}
	return quota, nil
}
