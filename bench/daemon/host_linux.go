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
// shims, runc and podman create on their own. Those absent before the run
// are removed after it when empty, children first.
var globalDirs = []string{
	"/run/containerd", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd/runc", "/run/containerd/runc/" + ctrNamespace,
	"/run/libpod", "/run/containers", "/run/runc",
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

// mountPoints returns the mount points (field 5) of mountinfo text that
// lie below dir, in mount order, and the mount points of cgroup and
// cgroup2 filesystems.
func mountPoints(mountinfo, dir string) (below, cgroups []string) {
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, fstype := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(fstype) < 1 {
			continue
		}
		mp := unescapeOctal(f[4])
		if dir != "" && strings.HasPrefix(mp, dir+"/") {
			below = append(below, mp)
		}
		if fstype[0] == "cgroup" || fstype[0] == "cgroup2" {
			cgroups = append(cgroups, mp)
		}
	}
	return below, cgroups
}

// unescapeOctal undoes mountinfo's \ooo escapes.
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

func mountinfo() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("mounts: %w", err)
	}
	return string(b), nil
}

// unmountBelow lazily unmounts everything mounted below dir, last first.
func unmountBelow(dir string) error {
	info, err := mountinfo()
	if err != nil {
		return err
	}
	below, _ := mountPoints(info, dir)
	var errs []error
	for _, mp := range slices.Backward(below) {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}

// removeCgroups removes the cgroup tree (the harness's own parent, every
// process in it killed) and the cgroup ifEmpty (shared by name, removed
// only when nothing is left in it) from every hierarchy.
func removeCgroups(tree, ifEmpty string) error {
	info, err := mountinfo()
	if err != nil {
		return err
	}
	_, mounts := mountPoints(info, "")
	var errs []error
	for _, mnt := range mounts {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(mnt, tree), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			errs = append(errs, removeCgroup(d, true))
		}
		errs = append(errs, removeCgroup(filepath.Join(mnt, ifEmpty), false))
	}
	return errors.Join(errs...)
}

// removeCgroup removes one cgroup directory, retrying while the kernel
// still counts dying processes; with kill, it SIGKILLs the processes in it
// first.
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
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || !kill {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

func cgroupMode() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "v2"
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
		return "v1 (hybrid)"
	}
	return "v1"
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
