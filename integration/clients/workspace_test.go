package clients

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientEnv is what one client test owns on the host besides its work
// directory: a cgroup parent for its containers and perhaps a bridge. The
// names are fixed, so that a run removes what an aborted run left.
type clientEnv struct {
	name         string
	cgroupParent string
	bridge       string
	// extraFiles are globs of files that the client writes outside the work
	// directory and does not remove itself.
	extraFiles []string
}

var (
	containerdEnv = clientEnv{name: "containerd", cgroupParent: "/" + ctrNamespace}
	dockerEnv     = clientEnv{name: "docker", cgroupParent: "/quilt-clients-docker", bridge: "quilt-dk0"}
	podmanEnv     = clientEnv{name: "podman", cgroupParent: "/quilt-clients-podman"}
	criEnv        = clientEnv{
		name: "cri", cgroupParent: "/quilt-clients-cri", bridge: "quilt-cri0",
		extraFiles: []string{"/var/lib/cni/results/" + criNetwork + "-*"},
	}
	allClients = []clientEnv{containerdEnv, dockerEnv, podmanEnv, criEnv}
)

func (c clientEnv) dir() string { return filepath.Join(suite.base, c.name) }

// purge stops and removes everything of the client: its processes (found
// by the work directory in their command line, or in its cgroups), the
// runtime's containers it created, mounts, cgroups, bridge and files.
func (c clientEnv) purge() error {
	dir := c.dir()
	var errs []error
	stopPids(pidsWithCmdline(dir+"/"), 10*time.Second)
	if err := killCgroups(c.cgroupParent); err != nil {
		errs = append(errs, err)
	}
	if rt := wrappedRuntime(filepath.Join(dir, "bin", "quilt")); rt != "" {
		if err := forceDelete(rt, readCalls(filepath.Join(dir, "calls.log"))); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountBelow(dir); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups(c.cgroupParent); err != nil {
		errs = append(errs, err)
	}
	if c.bridge != "" {
		if err := deleteLink(c.bridge); err != nil {
			errs = append(errs, err)
		}
	}
	for _, g := range c.extraFiles {
		files, _ := filepath.Glob(g)
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if mps, _ := mountsBelow(dir); len(mps) == 0 {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("purge %s: %w", c.name, err)
	}
	return nil
}

// workspace is a client test's private work directory, with the runtime
// wrapper (dir/bin/quilt) and its call log.
type workspace struct {
	clientEnv
	dir     string
	wrapper string
	callLog string
}

// newWorkspace purges what an earlier run of the client left, makes the
// work directory and the wrapper, and purges everything again in the
// test's cleanup, after the cleanups registered later (the client's own).
func newWorkspace(t *testing.T, c clientEnv) *workspace {
	t.Helper()
	if err := c.purge(); err != nil {
		t.Fatal(err)
	}
	w := &workspace{clientEnv: c, dir: c.dir(), callLog: filepath.Join(c.dir(), "calls.log")}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.wrapper, err = writeWrapper(filepath.Join(w.dir, "bin"), suite.runtime, w.callLog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(fileTail(w.callLog, 40))
			for _, l := range runtimeLogs(w.dir) {
				t.Log(fileTail(l, 10))
			}
		}
		if err := c.purge(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return w
}

// path is a path in the work directory.
func (w *workspace) path(elem ...string) string {
	return filepath.Join(append([]string{w.dir}, elem...)...)
}

// calls is the runtime calls logged so far.
func (w *workspace) calls() []runtimeCall { return readCalls(w.callLog) }

// checkNoLeftovers fails the test if the runtime still lists a container
// that the client created, or if a cgroup other than allowed ones is left
// below the client's cgroup parent.
func (w *workspace) checkNoLeftovers(t *testing.T, allowed func(cgroup string) bool) {
	t.Helper()
	calls := w.calls()
	if len(calls) == 0 {
		t.Fatalf("the client never called the runtime (%s)", w.callLog)
	}
	waitFor(t, waitTimeout, "runtime state and cgroups removed", func() (bool, string) {
		left, err := leftContainers(suite.runtime, calls)
		if err != nil {
			return false, err.Error()
		}
		if len(left) > 0 {
			return false, fmt.Sprintf("the runtime still lists %v", left)
		}
		// A root of the work directory holds nothing else: `list -q` is empty.
		for _, root := range privateRoots(calls, w.dir) {
			if ids, err := runtimeList(suite.runtime, root); err != nil || len(ids) > 0 {
				return false, fmt.Sprintf("%s --root %s list -q: %v %v", suite.runtime, root, ids, err)
			}
		}
		cgs, err := cgroupsBelow(w.cgroupParent)
		if err != nil {
			return false, err.Error()
		}
		var extra []string
		for _, cg := range cgs {
			if allowed == nil || !allowed(cg) {
				extra = append(extra, cg)
			}
		}
		if len(extra) > 0 {
			return false, fmt.Sprintf("cgroups left below %s: %s", w.cgroupParent, strings.Join(extra, " "))
		}
		return true, ""
	})
}

// runtimeLogs lists the non-empty log.json files (the runtime's --log of
// the containerd shim) that are left in dir, for a failed test.
func runtimeLogs(dir string) []string {
	var logs []string
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && e.Name() == "log.json" {
			if fi, err := e.Info(); err == nil && fi.Size() > 0 {
				logs = append(logs, p)
			}
		}
		return nil
	})
	return logs
}

// privateRoots lists the runtime roots of the calls that are in dir.
func privateRoots(calls []runtimeCall, dir string) []string {
	seen := map[string]bool{}
	var roots []string
	for _, c := range calls {
		if strings.HasPrefix(c.root, dir+"/") && !seen[c.root] {
			seen[c.root] = true
			roots = append(roots, c.root)
		}
	}
	return roots
}

// writeFile writes a file of the work directory, failing the test on error.
func (w *workspace) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := w.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mkdir makes directories of the work directory.
func (w *workspace) mkdir(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.MkdirAll(w.path(n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
