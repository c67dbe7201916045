package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runtime is one OCI runtime under test, driven through its runc-compatible
// command line with a private state directory.
type runtime struct {
	name    string // role in the report: "quilt" or "runc"
	path    string // absolute path of the binary
	root    string // private --root state directory
	bundles string // directory holding one bundle per container slot
	pids    string // directory for --pid-file files
	logs    string // directory for per-command stderr files
	timeout time.Duration
	version string

	mu   sync.Mutex
	live map[string]bool // containers that may exist and need a delete
}

func newRuntime(name, path, dir string, timeout time.Duration) (*runtime, error) {
	abs, err := exec.LookPath(path)
	if err != nil {
		return nil, fmt.Errorf("%s binary: %w", name, err)
	}
	if abs, err = filepath.Abs(abs); err != nil {
		return nil, fmt.Errorf("%s binary: %w", name, err)
	}
	rt := &runtime{
		name:    name,
		path:    abs,
		root:    filepath.Join(dir, name, "root"),
		bundles: filepath.Join(dir, name, "bundles"),
		pids:    filepath.Join(dir, name, "pids"),
		logs:    filepath.Join(dir, name, "logs"),
		timeout: timeout,
		live:    map[string]bool{},
	}
	for _, d := range []string{rt.root, rt.bundles, rt.pids, rt.logs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("%s directory: %w", name, err)
		}
	}
	return rt, nil
}

// id is the container ID of slot i; it names the runtime so that the two
// runtimes never share a cgroup.
func (rt *runtime) id(i int) string { return fmt.Sprintf("%s-%d", rt.name, i) }

func (rt *runtime) bundle(i int) string { return filepath.Join(rt.bundles, rt.id(i)) }

func (rt *runtime) pidFile(i int) string { return filepath.Join(rt.pids, rt.id(i)) }

// track records that container id may exist until untrack is called.
func (rt *runtime) track(id string) {
	rt.mu.Lock()
	rt.live[id] = true
	rt.mu.Unlock()
}

func (rt *runtime) untrack(id string) {
	rt.mu.Lock()
	delete(rt.live, id)
	rt.mu.Unlock()
}

// outcome is what one runtime command cost.
type outcome struct {
	took   time.Duration // fork+exec to reaped, as seen by the harness
	maxRSS int64         // wait4 ru_maxrss in KiB
}

// do runs `RUNTIME --root ROOT args...` and waits for it. The runtime's
// stdin and stdout are /dev/null unless stdout is given, and its stderr is
// a file: never a pipe, because a detached container inherits the
// runtime's stdio and would hold a pipe open after the runtime exits. The
// runtime gets a process group of its own, so that a Ctrl-C on the
// terminal reaches only the harness, which then finishes the commands in
// flight and cleans up.
func (rt *runtime) do(stdout *bytes.Buffer, args ...string) (outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rt.timeout)
	defer cancel()
	errf, err := os.CreateTemp(rt.logs, "stderr-")
	if err != nil {
		return outcome{}, fmt.Errorf("stderr file: %w", err)
	}
	defer os.Remove(errf.Name())
	defer errf.Close()

	cmd := exec.CommandContext(ctx, rt.path, append([]string{"--root", rt.root}, args...)...)
	cmd.Stderr = errf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if err != nil {
		msg, _ := os.ReadFile(errf.Name())
		return outcome{}, fmt.Errorf("%s %s: %w: %w: %s", rt.name, strings.Join(args, " "), ErrCommand, err, strings.TrimSpace(string(msg)))
	}
	o := outcome{took: took}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		o.maxRSS = ru.Maxrss
	}
	return o, nil
}

// status returns the container status `RUNTIME state ID` reports.
func (rt *runtime) status(id string) (string, error) {
	var out bytes.Buffer
	if _, err := rt.do(&out, "state", id); err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return "", fmt.Errorf("%s state %s: %w", rt.name, id, err)
	}
	return st.Status, nil
}

// readVersion stores the runtime's `--version` output, its lines joined.
func (rt *runtime) readVersion() error {
	out, err := exec.Command(rt.path, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w: %w", rt.name, ErrCommand, err)
	}
	rt.version = strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", ", ")), " ")
	return nil
}

// remaining lists the containers that may still exist: those tracked and
// those `RUNTIME list -q` names (the state directory is private, so every
// container in it is the harness's).
func (rt *runtime) remaining() []string {
	rt.mu.Lock()
	ids := map[string]bool{}
	for id := range rt.live {
		ids[id] = true
	}
	rt.mu.Unlock()
	var out bytes.Buffer
	if _, err := rt.do(&out, "list", "-q"); err == nil {
		for _, id := range strings.Fields(out.String()) {
			ids[id] = true
		}
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	return list
}

// deleteAll force-deletes every container that may remain. A container
// that no longer exists is not an error; one that survives `delete
// --force` is.
func (rt *runtime) deleteAll() error {
	var errs []error
	for _, id := range rt.remaining() {
		_, err := rt.do(nil, "delete", "--force", id)
		if err == nil {
			rt.untrack(id)
			continue
		}
		st, serr := rt.status(id)
		if serr != nil {
			rt.untrack(id) // state fails: the container is gone
			continue
		}
		errs = append(errs, fmt.Errorf("container %s still %s: %w", id, st, err))
	}
	return errors.Join(errs...)
}
