package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cmdTimeout bounds every runtime command a test runs, and waitTimeout
// every wait for a container's status or output. Both are generous: the
// machines are small and shared.
const (
	cmdTimeout  = 60 * time.Second
	waitTimeout = 30 * time.Second
)

// harness is one test's private runtime: its own --root, a scratch
// directory, and the containers and bundles it made, which its cleanup
// force-deletes and then checks for leftovers.
type harness struct {
	t       *testing.T
	root    string // --root of every command
	dir     string // scratch: bundles, outputs
	ids     []string
	bundles []*bundle
	seq     int // numbers the output files of commands
}

// newHarness skips when not root, and registers the cleanup.
func newHarness(t *testing.T) *harness {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration tests need root")
	}
	if testing.Short() {
		t.Skip("integration tests run real containers; skipped with -short")
	}
	if setupErr != nil {
		t.Fatalf("setup: %v", setupErr)
	}
	dir := t.TempDir()
	h := &harness{t: t, root: filepath.Join(dir, "state"), dir: dir}
	t.Cleanup(h.cleanup)
	return h
}

// quiltOnly skips a test of behaviour in which runc 1.1.5 is known to
// differ from the spec.
func quiltOnly(t *testing.T, why string) {
	t.Helper()
	if isRunc {
		t.Skipf("runc 1.1.5 %s", why)
	}
}

// id returns a new random container id and remembers it for cleanup.
func (h *harness) id() string {
	id := "it-" + randomHex(5)
	h.ids = append(h.ids, id)
	return id
}

// result is a finished runtime command.
type result struct {
	cmdline string
	code    int    // exit status; -1 if it did not exit normally
	stdout  string // what it wrote to stdout (and a container inheriting it, until then)
	stderr  string
	outPath string // the file that keeps receiving a container's stdout
	errPath string
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout: %s\nstderr: %s", r.cmdline, r.code, r.stdout, r.stderr)
}

// opts tunes one command.
type opts struct {
	dir   string     // working directory
	extra []*os.File // descriptors 3, 4, ...
	stdin *os.File   // nil: /dev/null
}

// command prepares the runtime with --root and args; its stdout and stderr
// are files in the scratch directory, so that a container inheriting them
// never keeps a pipe (and the test) waiting.
func (h *harness) command(ctx context.Context, o opts, args ...string) (*exec.Cmd, result) {
	h.t.Helper()
	h.seq++
	full := append([]string{"--root", h.root}, args...)
	r := result{
		cmdline: filepath.Base(runtimeBin) + " " + strings.Join(full, " "),
		outPath: filepath.Join(h.dir, fmt.Sprintf("cmd%d.out", h.seq)),
		errPath: filepath.Join(h.dir, fmt.Sprintf("cmd%d.err", h.seq)),
	}
	stdout, err := os.Create(r.outPath)
	if err != nil {
		h.t.Fatal(err)
	}
	stderr, err := os.Create(r.errPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, runtimeBin, full...)
	cmd.Dir = o.dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = o.extra
	if o.stdin != nil {
		cmd.Stdin = o.stdin
	}
	cmd.WaitDelay = 5 * time.Second
	h.t.Cleanup(func() { stdout.Close(); stderr.Close() })
	return cmd, r
}

// exec runs the runtime with args and returns when it exits.
func (h *harness) exec(args ...string) result {
	h.t.Helper()
	return h.execOpts(opts{}, args...)
}

func (h *harness) execOpts(o opts, args ...string) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd, r := h.command(ctx, o, args...)
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		h.t.Errorf("%s: timed out after %v", r.cmdline, cmdTimeout)
	}
	r = r.finish(cmd, err)
	h.t.Logf("%s: exit %d in %v", r.cmdline, r.code, time.Since(start).Round(time.Millisecond))
	return r
}

// finish records the exit status and output of a command that has exited.
func (r result) finish(cmd *exec.Cmd, err error) result {
	r.code = -1
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		r.code = 0
	case errors.As(err, &exitErr) && exitErr.Exited():
		r.code = exitErr.ExitCode()
	}
	r.stdout = readFile(r.outPath)
	r.stderr = readFile(r.errPath)
	return r
}

// mustExec runs the runtime and fails the test unless it exits 0.
func (h *harness) mustExec(args ...string) result {
	h.t.Helper()
	r := h.exec(args...)
	if r.code != 0 {
		h.t.Fatalf("%v", r)
	}
	return r
}

// started is a runtime command running in the background.
type started struct {
	cmd  *exec.Cmd
	out  string        // its stdout file
	wait func() result // waits for it to exit
}

// background starts the runtime without waiting for it.
func (h *harness) background(o opts, args ...string) started {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	cmd, r := h.command(ctx, o, args...)
	if err := cmd.Start(); err != nil {
		cancel()
		h.t.Fatalf("%s: %v", r.cmdline, err)
	}
	start := time.Now()
	var once sync.Once
	var res result
	wait := func() result {
		once.Do(func() {
			err := cmd.Wait()
			if ctx.Err() != nil {
				h.t.Errorf("%s: timed out after %v", r.cmdline, cmdTimeout)
			}
			cancel()
			res = r.finish(cmd, err)
			h.t.Logf("%s: exit %d in %v", r.cmdline, res.code, time.Since(start).Round(time.Millisecond))
		})
		return res
	}
	h.t.Cleanup(func() { wait() })
	return started{cmd: cmd, out: r.outPath, wait: wait}
}

// hostOutput runs a command on the host and returns its stdout.
func hostOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

// wantError checks that r failed. For quilt it also checks exit status 1
// and exactly one non-empty stderr line that mentions each of mention;
// runc's messages are not held to that.
func wantError(t *testing.T, r result, mention ...string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("%s: exit 0, want an error\nstdout: %s\nstderr: %s", r.cmdline, r.stdout, r.stderr)
		return
	}
	if isRunc {
		return
	}
	if r.code != 1 {
		t.Errorf("%s: exit %d, want 1", r.cmdline, r.code)
	}
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Errorf("%s: %d non-empty stderr lines, want 1 error line:\n%s", r.cmdline, len(lines), r.stderr)
	}
	for _, m := range mention {
		if !strings.Contains(r.stderr, m) {
			t.Errorf("%s: error does not mention %q: %s", r.cmdline, m, strings.TrimSpace(r.stderr))
		}
	}
}

// bundle is a bundle directory: rootfs with busybox and testinit, and a
// config.json from the runtime's own `spec`, edited.
type bundle struct {
	Dir    string
	Spec   *specs.Spec
	cgroup string // cgroupsPath, private to this run
}

var (
	defaultSpecOnce sync.Once
	defaultSpec     []byte
	defaultSpecErr  error
)

// runtimeSpec is the config.json that `RUNTIME spec` writes.
func runtimeSpec() ([]byte, error) {
	defaultSpecOnce.Do(func() {
		dir, err := os.MkdirTemp("", "quilt-it-spec-")
		if err != nil {
			defaultSpecErr = err
			return
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, runtimeBin, "spec", "--bundle", dir).CombinedOutput()
		if err != nil {
			defaultSpecErr = fmt.Errorf("%s spec: %w: %s", runtimeBin, err, out)
			return
		}
		defaultSpec, defaultSpecErr = os.ReadFile(filepath.Join(dir, "config.json"))
	})
	return defaultSpec, defaultSpecErr
}

// bundle makes a bundle whose process runs args (testinit's subcommands are
// "/bin/testinit", "cmd", ...), applies edit to the config and writes it.
// The process has no terminal, a private cgroupsPath and an annotation.
func (h *harness) bundle(args []string, edit ...func(*specs.Spec)) *bundle {
	h.t.Helper()
	raw, err := runtimeSpec()
	if err != nil {
		h.t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		h.t.Fatalf("parse the runtime's spec: %v", err)
	}
	dir, err := os.MkdirTemp(h.dir, "bundle")
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	b := &bundle{Dir: dir, Spec: &s, cgroup: cgroupParent + "/" + randomHex(6)}
	h.bundles = append(h.bundles, b)
	if err := makeRootfs(filepath.Join(dir, "rootfs")); err != nil {
		h.t.Fatal(err)
	}
	s.Process.Terminal = false
	s.Process.Args = args
	s.Linux.CgroupsPath = b.cgroup
	s.Annotations = map[string]string{"org.quilt.test": h.t.Name()}
	for _, e := range edit {
		e(&s)
	}
	b.save(h.t)
	return b
}

// save writes b.Spec to config.json.
func (b *bundle) save(t *testing.T) {
	t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeRootfs lays out a minimal root filesystem: busybox and its applets
// in /bin (as `busybox --install -s` does), testinit, and the usual
// mount points.
func makeRootfs(dir string) error {
	for _, d := range []string{"bin", "dev", "etc", "proc", "root", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := copyFile(busyboxBin, filepath.Join(dir, "bin", "busybox")); err != nil {
		return err
	}
	if err := copyFile(testinitBin, filepath.Join(dir, "bin", "testinit")); err != nil {
		return err
	}
	for _, a := range applets {
		if a == "busybox" || a == "testinit" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyFile hard-links src to dst when they share a file system (nothing
// writes these binaries), and copies it otherwise.
func copyFile(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// testinit returns the args that run testinit's subcommand cmd.
func testinit(cmd ...string) []string {
	return append([]string{"/bin/testinit"}, cmd...)
}

// shell returns the args that run script with busybox sh.
func shell(script string) []string {
	return []string{"/bin/sh", "-c", script}
}

// create runs `create --bundle B [flags] ID`.
func (h *harness) create(b *bundle, id string, flags ...string) result {
	h.t.Helper()
	args := append([]string{"create", "--bundle", b.Dir}, flags...)
	return h.exec(append(args, id)...)
}

// runFg runs a container in the foreground (`run --bundle B ID`) and
// returns its result, with the container's output in stdout.
func (h *harness) runFg(b *bundle, id string, flags ...string) result {
	h.t.Helper()
	args := append([]string{"run", "--bundle", b.Dir}, flags...)
	return h.exec(append(args, id)...)
}

// runOutput runs args in a fresh container in the foreground, with edit
// applied to its config, and fails the test unless it exits 0.
func (h *harness) runOutput(args []string, edit ...func(*specs.Spec)) string {
	h.t.Helper()
	b := h.bundle(args, edit...)
	r := h.runFg(b, h.id())
	if r.code != 0 {
		h.t.Fatalf("%v", r)
	}
	return r.stdout
}

// state is the runtime's `state` output.
type state struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations"`
	Rootfs      string            `json:"rootfs"`
	Created     string            `json:"created"`
	Owner       *string           `json:"owner"`
}

// state runs `state ID` and parses it; the test fails if either fails.
func (h *harness) state(id string) state {
	h.t.Helper()
	r := h.mustExec("state", id)
	var s state
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		h.t.Fatalf("%s: output is not JSON: %v\n%s", r.cmdline, err, r.stdout)
	}
	return s
}

// waitStatus polls `state ID` until its status is want.
func (h *harness) waitStatus(id, want string) state {
	h.t.Helper()
	var s state
	deadline := time.Now().Add(waitTimeout)
	for {
		s = h.state(id)
		if s.Status == want {
			return s
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("container %s: status %q, want %q", id, s.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFile polls path until it contains want, and returns its content.
func waitFile(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := readFile(path)
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after %v; it holds:\n%s", path, want, waitTimeout, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
