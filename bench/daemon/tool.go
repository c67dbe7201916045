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
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w: %w", name, ErrCommand, err)
	}
	version, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return &tool{name: name, path: p, tmp: dir, timeout: timeout, version: version}, nil
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
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// startDaemon starts argv and waits until ready, the tool command that
// asks the daemon for its version, succeeds.
func startDaemon(log string, ready *tool, argv ...string) (*daemonProc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, fmt.Errorf("daemon log: %w", err)
	}
	defer f.Close()
	d := &daemonProc{cmd: exec.Command(argv[0], argv[1:]...), log: log, exited: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = f, f
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, _, err := ready.do("version")
		if err == nil {
			return d, nil
		}
		select {
		case <-d.exited:
			err = fmt.Errorf("%w: exited: %v", ErrNotReady, d.cmd.ProcessState)
		default:
			if time.Now().Before(deadline) {
				continue
			}
			err = fmt.Errorf("%w: %w", ErrNotReady, err)
		}
		log, _ := os.ReadFile(d.log)
		return d, fmt.Errorf("%s: %w\n%s", argv[0], err, log[max(0, len(log)-2000):])
	}
}

// stop sends SIGTERM, and SIGKILL after 20 seconds.
func (d *daemonProc) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(20 * time.Second):
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	return fmt.Errorf("%s did not stop after SIGTERM; killed", d.cmd.Path)
}
