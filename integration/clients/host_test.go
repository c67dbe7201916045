package clients

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What the tests read and clean up on the host: cgroups, processes, mounts
// and network links.

// cgroupHierarchy is one mounted cgroup hierarchy: its mount point and, for
// cgroup v1, its controllers ("memory", "cpu,cpuacct", "name=systemd").
type cgroupHierarchy struct {
	mount       string
	controllers []string // empty for cgroup2
}

// cgroupHierarchies lists the cgroup hierarchies mounted on the host.
func cgroupHierarchies() ([]cgroupHierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hs []cgroupHierarchy
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mount-point options ... - fstype source super-options
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(after) < 3 || fields[3] != "/" {
			continue
		}
		h := cgroupHierarchy{mount: unescapeMount(fields[4])}
		switch after[0] {
		case "cgroup2":
		case "cgroup":
			for _, o := range strings.Split(after[2], ",") {
				switch o {
				case "rw", "ro", "nosuid", "nodev", "noexec", "relatime", "clone_children", "noprefix", "xattr":
				default:
					if !strings.HasPrefix(o, "release_agent=") {
						h.controllers = append(h.controllers, o)
					}
				}
			}
		default:
			continue
		}
		if !seen[h.mount] {
			seen[h.mount] = true
			hs = append(hs, h)
		}
	}
	return hs, sc.Err()
}

// hostCgroupFile reads file of the cgroup v1 controller (memory, pids,
// cpu, freezer) that process pid is in, as the host sees it.
func hostCgroupFile(pid int, controller, file string) (string, error) {
	p, err := cgroupPath(pid, controller)
	if err != nil {
		return "", err
	}
	hs, err := cgroupHierarchies()
	if err != nil {
		return "", err
	}
	for _, h := range hs {
		for _, c := range h.controllers {
			if c == controller {
				v, err := os.ReadFile(filepath.Join(h.mount, p, file))
				return strings.TrimSpace(string(v)), err
			}
		}
	}
	return "", fmt.Errorf("no cgroup v1 hierarchy with %s", controller)
}

// cgroupPath is the path of process pid's cgroup of a v1 controller.
func cgroupPath(pid int, controller string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2], nil
			}
		}
	}
	return "", fmt.Errorf("process %d: no %s cgroup", pid, controller)
}

// cgroupsBelow lists the cgroup directories below parent in every
// hierarchy, relative to parent ("libpod-abc", "pod1/ctr"), without
// duplicates.
func cgroupsBelow(parent string) ([]string, error) {
	hs, err := cgroupHierarchies()
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, h := range hs {
		top := filepath.Join(h.mount, parent)
		err := filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if e.IsDir() && p != top {
				rel, _ := filepath.Rel(top, p)
				set[rel] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var dirs []string
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs, nil
}

// killCgroups thaws and SIGKILLs every process in the cgroups at and below
// parent, in every hierarchy.
func killCgroups(parent string) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		top := filepath.Join(h.mount, parent)
		_ = filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return nil
			}
			_ = os.WriteFile(filepath.Join(p, "freezer.state"), []byte("THAWED"), 0)
			_ = os.WriteFile(filepath.Join(p, "cgroup.freeze"), []byte("0"), 0)
			b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return nil
		})
	}
	return nil
}

// removeCgroups removes parent and every cgroup below it in every
// hierarchy, children first. A cgroup whose last process just died may be
// busy for a moment: it retries for a while.
func removeCgroups(parent string) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		top := filepath.Join(h.mount, parent)
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			var err error
			for try := 0; try < 50; try++ {
				if err = os.Remove(dirs[i]); err == nil || errors.Is(err, fs.ErrNotExist) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// pidsWithCmdline lists the processes whose command line contains s.
func pidsWithCmdline(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stopPids sends SIGTERM to each process, and SIGKILL to those still there
// after grace.
func stopPids(pids []int, grace time.Duration) {
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range pids {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// catches reports whether process pid has a handler for sig (its SigCgt
// mask), as a shell's trap installs.
func catches(pid int, sig syscall.Signal) (bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0, err
		}
	}
	return false, fmt.Errorf("process %d: no SigCgt", pid)
}

// mountsBelow lists the mount points at or below dir, deepest first.
func mountsBelow(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mps []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mps)))
	return mps, nil
}

// unmountBelow detaches every mount at or below dir.
func unmountBelow(dir string) error {
	for try := 0; try < 3; try++ {
		mps, err := mountsBelow(dir)
		if err != nil || len(mps) == 0 {
			return err
		}
		for _, mp := range mps {
			_ = syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	if mps, _ := mountsBelow(dir); len(mps) > 0 {
		return fmt.Errorf("still mounted below %s: %v", dir, mps)
	}
	return nil
}

// unescapeMount undoes the octal escapes of /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// linkExists reports whether the network interface name exists.
func linkExists(name string) bool {
	_, err := os.Lstat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// deleteLink removes the network interface name, if it exists.
func deleteLink(name string) error {
	if !linkExists(name) {
		return nil
	}
	if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("delete link %s: %w: %s", name, err, out)
	}
	return nil
}

// hostNetns is the host's network namespace ("net:[4026531840]").
func hostNetns() string {
	s, _ := os.Readlink("/proc/self/ns/net")
	return s
}
