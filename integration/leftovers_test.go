package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cleanup force-deletes every container of the test, then checks that
// nothing is left: no state in --root, no cgroup, no mount under the
// scratch directory, no process of its containers. Each leftover fails the test
// and is removed, so that one bad test does not disturb the machine.
func (h *harness) cleanup() {
	t := h.t
	for _, id := range h.ids {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		cmd, r := h.command(ctx, opts{}, "delete", "--force", id)
		r = r.finish(cmd, cmd.Run())
		cancel()
		if r.code != 0 {
			t.Errorf("cleanup: %v", r)
		}
	}
	// A process killed a moment ago may take a while to go.
	for _, err := range h.leftovers(5 * time.Second) {
		t.Errorf("cleanup: %v", err)
	}
	h.removeLeftovers()
}

// leftovers lists what the test's containers left behind, giving their
// processes up to settle to go.
func (h *harness) leftovers(settle time.Duration) []error {
	var errs []error
	for _, p := range h.rootLeftovers(nil) {
		errs = append(errs, fmt.Errorf("%s left in --root", p))
	}
	for _, b := range h.bundles {
		for _, d := range cgroupDirs(b.cgroup) {
			if isRunc && settle > 0 && removeRuncCgroup(d, settle) {
				h.t.Logf("runc left cgroup %s behind; removed it (a runc 1.1.5 race)", d)
				continue
			}
			errs = append(errs, fmt.Errorf("cgroup %s left", d))
		}
	}
	for _, m := range mountsUnder(h.dir) {
		errs = append(errs, fmt.Errorf("mount %s left", m))
	}
	var pids []int
	for deadline := time.Now().Add(settle); ; time.Sleep(50 * time.Millisecond) {
		if pids = containerProcesses(h.dir, h.bundles); len(pids) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range pids {
		errs = append(errs, fmt.Errorf("process %d (%s) left in %s", p, comm(p), h.dir))
	}
	return errs
}

// rootLeftovers lists what --root holds for containers that should be gone:
// any file, any directory named after one of the test's ids, and any
// top-level directory not starting with a dot. Empty bookkeeping
// directories (such as quilt's .locks) may stay. Paths of kept ids are
// skipped.
func (h *harness) rootLeftovers(keep map[string]bool) []string {
	ids := map[string]bool{}
	for _, id := range h.ids {
		ids[id] = true
	}
	var left []string
	_ = filepath.WalkDir(h.root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == h.root {
			return nil
		}
		rel, _ := filepath.Rel(h.root, p)
		for _, part := range strings.Split(rel, "/") {
			if keep[part] {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		topDir := d.IsDir() && !strings.Contains(rel, "/") && !strings.HasPrefix(rel, ".")
		if !d.IsDir() || topDir || ids[d.Name()] {
			left = append(left, rel)
		}
		return nil
	})
	return left
}

// removeRuncCgroup removes a cgroup that runc left: on a loaded machine,
// runc 1.1.5's delete --force of a running container sometimes returns
// before the killed tasks have left the cgroup, fails to remove it and
// says nothing. It is removable once they are gone. Quilt gets no such
// allowance.
func removeRuncCgroup(dir string, settle time.Duration) bool {
	for deadline := time.Now().Add(settle); ; time.Sleep(100 * time.Millisecond) {
		if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// removeLeftovers kills, unmounts and removes what leftovers found, so that
// t.TempDir's removal works and the machine stays clean.
func (h *harness) removeLeftovers() {
	for _, p := range containerProcesses(h.dir, h.bundles) {
		_ = unix.Kill(p, unix.SIGKILL)
	}
	mounts := mountsUnder(h.dir)
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = unix.Unmount(mounts[i], unix.MNT_DETACH)
	}
	for _, b := range h.bundles {
		for _, d := range cgroupDirs(b.cgroup) {
			for range 50 {
				if err := os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// checkNothingLeft fails the test if a failed command left anything of the
// test's containers behind (see leftovers); ids that exist on purpose are
// listed in keep.
func (h *harness) checkNothingLeft(keep ...string) {
	h.t.Helper()
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	for _, p := range h.rootLeftovers(kept) {
		h.t.Errorf("%s left in --root", p)
	}
	if len(keep) > 0 {
		return // the kept containers own cgroups, mounts and processes
	}
	for _, err := range h.leftovers(5 * time.Second) {
		h.t.Error(err)
	}
}

// cgroupDirs lists the existing directories of cgroup path in every
// hierarchy: /sys/fs/cgroup/<controller>/path on cgroup v1 and hybrid
// hosts, /sys/fs/cgroup/path on cgroup v2.
func cgroupDirs(path string) []string {
	var found []string
	candidates := []string{filepath.Join("/sys/fs/cgroup", path)}
	if ents, err := os.ReadDir("/sys/fs/cgroup"); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				candidates = append(candidates, filepath.Join("/sys/fs/cgroup", e.Name(), path))
			}
		}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			found = append(found, c)
		}
	}
	return found
}

// cgroupFile is the path of a controller's file for cgroup path: the v1
// file when the controller has its own hierarchy, else the cgroup2 one.
func cgroupFile(path, controller, v1name, v2name string) string {
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", controller)); err == nil {
		return filepath.Join("/sys/fs/cgroup", controller, path, v1name)
	}
	return filepath.Join("/sys/fs/cgroup", path, v2name)
}

// mountsUnder lists the mount points at or below dir in this process's
// mount namespace (the host's), outermost first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var found []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			found = append(found, mp)
		}
	}
	return found
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
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

// containerProcesses lists the live (not zombie) processes that belong to
// the bundles: whose root is a bundle's rootfs (compared by device and
// inode, which works across mount namespaces), whose root or working
// directory lies under dir (a runtime process working in a bundle), or
// which are in a bundle's cgroup.
func containerProcesses(dir string, bundles []*bundle) []int {
	type key struct{ dev, ino uint64 }
	roots := map[key]bool{}
	for _, b := range bundles {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(b.Dir, "rootfs"), &st) == nil {
			roots[key{st.Dev, st.Ino}] = true
		}
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || zombie(pid) {
			continue
		}
		match := false
		for _, link := range []string{"root", "cwd"} {
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", pid, link))
			match = match || err == nil && (target == dir || strings.HasPrefix(target, dir+"/"))
		}
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/root", pid), &st) == nil && roots[key{st.Dev, st.Ino}] {
			match = true
		}
		if !match {
			cg := readFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			for _, b := range bundles {
				match = match || strings.Contains(cg, ":"+b.cgroup+"\n") || strings.Contains(cg, ":"+b.cgroup+"/")
			}
		}
		if match && !zombie(pid) {
			found = append(found, pid)
		}
	}
	return found
}

// zombie reports whether pid has exited but not been reaped (or is gone).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil && !zombie(pid)
}

func comm(pid int) string {
	return strings.TrimSpace(readFile(fmt.Sprintf("/proc/%d/comm", pid)))
}

// TestLeftoverChecks makes sure the leftover checks can fail: while a
// container runs, they must report its state, cgroup and process.
func TestLeftoverChecks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("pause"))
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	h.mustExec("start", id)
	waitFile(t, cr.outPath, "ready")
	pid := h.state(id).Pid
	var got []string
	for _, err := range h.leftovers(0) {
		got = append(got, err.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{id + " left in --root", "cgroup ", fmt.Sprintf("process %d ", pid)} {
		if !strings.Contains(all, want) {
			t.Errorf("leftovers of a running container lack %q:\n%s", want, all)
		}
	}
	h.mustExec("delete", "--force", id)
}
