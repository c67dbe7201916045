package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// tool is one client under test (quiltctl, ctr or podman), driven through
// its command line with the global arguments that point it at private
// state.
type tool struct {
	name    string   // column name in the report
	path    string   // absolute path of the binary
	args    []string // global arguments of every command
	env     []string // added to the harness's environment
	tmp     string   // directory for the commands' stdout and stderr files
	timeout time.Duration
	version string // first line of --version
	note    string // what the tool drives: "private quiltd", ...
}

func newTool(name, bin, dir string, timeout time.Duration) (*tool, error) {
	p, err := exec.LookPath(bin)
	if err == nil {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		return nil, fmt.Errorf("%s binary: %w", name, err)
	}
	t := &tool{name: name, path: p, tmp: filepath.Join(dir, "out"), timeout: timeout}
	if err := os.MkdirAll(t.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w: %w", name, ErrCommand, err)
	}
	t.version, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	return t, nil
}

// do runs the tool with args and returns its stdout and how long it took,
// from just before fork to reaped. stdin is /dev/null; stdout and stderr
// are files, never pipes, because a detached container's monitor could
// inherit a pipe and keep it open. The tool gets a process group of its
// own, so that a Ctrl-C reaches only the harness, which then finishes the
// command in flight and cleans up.
func (t *tool) do(args ...string) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	var files [2]*os.File
	for i := range files {
		f, err := os.CreateTemp(t.tmp, t.name+"-")
		if err != nil {
			return "", 0, fmt.Errorf("output file: %w", err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		files[i] = f
	}
	cmd := exec.CommandContext(ctx, t.path, append(t.args[:len(t.args):len(t.args)], args...)...)
	cmd.Env = append(os.Environ(), t.env...)
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	stdout, _ := os.ReadFile(files[0].Name())
	if err != nil {
		msg, _ := os.ReadFile(files[1].Name())
		return string(stdout), took, fmt.Errorf("%s %s: %w: %w: %s", t.name, strings.Join(args, " "), ErrCommand, err, strings.TrimSpace(string(msg)))
	}
	return string(stdout), took, nil
}

// daemonProc is a daemon the harness started (quiltd, containerd), with
// its output in a log file.
type daemonProc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

func startDaemon(log string, argv ...string) (*daemonProc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", argv[0], err)
	}
	defer f.Close()
	d := &daemonProc{name: filepath.Base(argv[0]), cmd: exec.Command(argv[0], argv[1:]...), log: log, exited: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = f, f
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", d.name, err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

// waitReady polls probe until it succeeds, the daemon exits or timeout
// passes.
func (d *daemonProc) waitReady(timeout time.Duration, probe func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := probe()
		if err == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("%s exited: %v: %s", d.name, d.cmd.ProcessState, d.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w: %w: %s", d.name, ErrNotReady, err, d.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM, and SIGKILL after grace.
func (d *daemonProc) stop(grace time.Duration) error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(grace):
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	return fmt.Errorf("%s did not stop in %v after SIGTERM; killed", d.name, grace)
}

func (d *daemonProc) logTail() string {
	b, _ := os.ReadFile(d.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-10):], "\n")
}
