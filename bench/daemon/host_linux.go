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

// globalDirs are directories outside the harness's own that containerd's
// shims, ctr, runc and podman create on their own. Those absent before the
// run are removed after it when empty, children first.
var globalDirs = []string{
	"/run/containerd", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd/runc",
	"/run/containerd/runc/" + ctrNamespace, "/run/libpod", "/run/containers", "/run/runc",
}

func absentDirs() []string {
	var absent []string
	for _, d := range globalDirs {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			absent = append(absent, d)
		}
	}
	return absent
}

// mountsBelow returns the mount points (field 5) of mountinfo text that
// lie below dir, in mount order. The tools name their mount points with
// ids, so the octal escapes of unusual characters are left alone.
func mountsBelow(mountinfo, dir string) []string {
	var below []string
	for _, line := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			below = append(below, f[4])
		}
	}
	return below
}

// unmountBelow lazily unmounts everything mounted below dir, last first.
func unmountBelow(dir string) error {
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("mounts: %w", err)
	}
	var errs []error
	for _, mp := range slices.Backward(mountsBelow(string(info), dir)) {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}

// cgroupDirs returns the directories of cgroup name in every hierarchy
// (v1 controllers, v1's named and unified ones, or v2's single one).
func cgroupDirs(name string) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + name)
	if _, err := os.Stat("/sys/fs/cgroup" + name); err == nil {
		dirs = append(dirs, "/sys/fs/cgroup"+name)
	}
	return dirs
}

// removeCgroups removes the cgroup tree (the harness's own parent, every
// process in it killed) and the cgroup ifEmpty (named after the ctr
// namespace, removed only when nothing is left in it) in every hierarchy.
func removeCgroups(tree, ifEmpty string) error {
	var errs []error
	for _, top := range cgroupDirs(tree) {
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			errs = append(errs, removeCgroup(d, true))
		}
	}
	for _, d := range cgroupDirs(ifEmpty) {
		errs = append(errs, removeCgroup(d, false))
	}
	return errors.Join(errs...)
}

// removeCgroup removes one cgroup directory; with kill, it SIGKILLs the
// processes in it first, and retries while the kernel still counts them.
func removeCgroup(dir string, kill bool) error {
	var err error
	for range 50 {
		if kill {
			b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, _ := strconv.Atoi(f); pid > 0 {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		if err = unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !kill || !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

// hostInfo describes the machine and its load while the harness ran.
type hostInfo struct {
	Kernel    string `json:"kernel"`
	CPUs      int    `json:"cpus"`
	Cgroup    string `json:"cgroup"`
	Go        string `json:"go"`
	LoadStart string `json:"loadStart"`
	LoadEnd   string `json:"loadEnd"`
	// GoFloor is the median time, in nanoseconds, of a static Go program
	// that only exits (0: not measured).
	GoFloor float64 `json:"goFloorNanos,omitempty"`
}

// readFirst returns the first n fields of a /proc or /sys file, or
// "unknown".
func readFirst(path string, n int) string {
	b, err := os.ReadFile(path)
	if f := strings.Fields(string(b)); err == nil && len(f) >= n {
		return strings.Join(f[:n], " ")
	}
	return "unknown"
}
