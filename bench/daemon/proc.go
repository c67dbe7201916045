package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// memUsage is one process's memory, in KiB, from smaps_rollup.
type memUsage struct {
	RSS int64 // resident
	PSS int64 // proportional: shared pages divided among their users
	USS int64 // unique: Private_Clean + Private_Dirty, what exiting would free
}

// parseRollup reads the text of /proc/PID/smaps_rollup.
func parseRollup(text string) (memUsage, error) {
	var m memUsage
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "Rss":
			dst = &m.RSS
		case "Pss":
			dst = &m.PSS
		case "Private_Clean", "Private_Dirty":
			dst = &m.USS
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("smaps_rollup line %q: %w", sc.Text(), ErrOutput)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("smaps_rollup line %q: %w", sc.Text(), ErrOutput)
		}
		*dst += n
		seen++
	}
	if seen != 4 {
		return m, fmt.Errorf("smaps_rollup: %w: want Rss, Pss, Private_Clean and Private_Dirty", ErrOutput)
	}
	return m, nil
}

// readMem returns the memory of process pid.
func readMem(pid int) (memUsage, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return memUsage{}, fmt.Errorf("memory of %d: %w", pid, err)
	}
	m, err := parseRollup(string(b))
	if err != nil {
		return m, fmt.Errorf("memory of %d: %w", pid, err)
	}
	return m, nil
}

// parseStat returns the command name and parent pid from the text of
// /proc/PID/stat. The name is in parentheses and may hold any character,
// so the fields are counted after its last ')'.
func parseStat(text string) (comm string, ppid int, err error) {
	open, end := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("stat %q: %w", text, ErrOutput)
	}
	f := strings.Fields(text[end+1:])
	if len(f) < 2 {
		return "", 0, fmt.Errorf("stat %q: %w", text, ErrOutput)
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return "", 0, fmt.Errorf("stat %q: %w", text, ErrOutput)
	}
	return text[open+1 : end], ppid, nil
}

// procStat returns the command name and parent pid of process pid.
func procStat(pid int) (string, int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return parseStat(string(b))
}
