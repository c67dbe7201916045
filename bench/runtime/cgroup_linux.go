package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupPrefix starts the name of the harness's private cgroup parent; the
// harness's pid follows it.
const cgroupPrefix = "/quilt-bench-"

// cgroupMounts returns the mount points of the cgroup (v1) and cgroup2
// filesystems listed in mountinfo, the text of /proc/self/mountinfo.
func cgroupMounts(mountinfo string) []string {
	var mounts []string
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		fields, fstype := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(fstype) < 1 {
			continue
		}
		if fstype[0] == "cgroup" || fstype[0] == "cgroup2" {
			mounts = append(mounts, unescapeOctal(fields[4]))
		}
	}
	return mounts
}

// unescapeOctal undoes mountinfo's \ooo escapes of space, tab, newline and
// backslash.
func unescapeOctal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroupParent removes parent (an absolute cgroupsPath such as
// /quilt-bench-123) and every cgroup below it from each cgroup hierarchy,
// killing any process still in it first. Everything below parent belongs
// to the harness's containers.
func removeCgroupParent(parent string) error {
	if !strings.HasPrefix(parent, cgroupPrefix) || strings.Contains(parent[1:], "/") {
		// Never walk, kill and remove a cgroup the harness did not make.
		return fmt.Errorf("cgroup parent %q: %w", parent, ErrForeignCgroup)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("cgroup mounts: %w", err)
	}
	var errs []error
	for _, mnt := range cgroupMounts(string(info)) {
		if err := removeCgroupTree(filepath.Join(mnt, parent)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes the cgroup directory dir and its descendants,
// deepest first.
func removeCgroupTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := removeCgroup(d); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroup kills the processes left in one cgroup and removes it,
// retrying while the kernel still counts the dying processes.
func removeCgroup(dir string) error {
	var err error
	for range 50 {
		killCgroupProcs(dir)
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		reapOrphans()
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

func killCgroupProcs(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}
