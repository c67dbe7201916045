package libquilt

import (
	"errors"
	"fmt"
	"io"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/spec"
)

// ExecOptions describe a process to run in an existing container.
type ExecOptions struct {
	ID string
	// Process is the complete process to run (see ProcessSpec for the
	// container's own, to start from).
	Process *specs.Process
	// Detach returns once the process runs; otherwise Exec waits for it
	// and returns its exit status.
	Detach        bool
	PidFile       string
	ConsoleSocket string
	PidfdSocket   string
	PreserveFDs   int
	// Cgroup places the process in a sub-cgroup: "path" for every
	// controller, or "controller[,controller]:path".
	Cgroup string
	// IgnorePaused allows exec into a paused container.
	IgnorePaused bool
	Stdin        io.Reader
	Stdout       io.Writer
	Stderr       io.Writer
	LogLevel     logrus.Level
}

// ExecError is a process that could not be executed: its path was not
// found (Code 127) or is not executable (Code 126), as a shell reports.
type ExecError struct {
	Path string
	Code int
	Err  error
}

func (e *ExecError) Error() string {
	why := "not found"
	if e.Code == 126 {
		why = "not executable"
	}
	return fmt.Sprintf("exec %s: %s: %v", e.Path, why, e.Err)
}

func (e *ExecError) Unwrap() error { return e.Err }

// ProcessSpec returns the container's own process as config.json gave it at
// create time; exec starts from it.
func (r *Runtime) ProcessSpec(id string) (*specs.Process, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	if c.meta.Process == nil {
		return nil, fmt.Errorf("container %s: no process recorded at create", id)
	}
	p := *c.meta.Process
	return &p, nil
}

// Exec runs a new process in a created or running container. In the
// foreground it forwards signals to the process and returns its exit status;
// as Run, it stops catching them in the background as it returns.
func (r *Runtime) Exec(opts ExecOptions) (int, error) {
	if opts.Process == nil {
		return -1, errors.New("exec: no process given")
	}
	if err := spec.ValidateProcess(opts.Process); err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	if err := checkTerminal(opts.Process.Terminal, opts.Detach, opts.ConsoleSocket); err != nil {
		return -1, err
	}
	c, err := r.load(opts.ID)
	if err != nil {
		return -1, err
	}
	status, err := c.status()
	if err != nil {
		return -1, err
	}
	switch {
	case status == Stopped:
		return -1, &StateError{ID: opts.ID, Op: "exec in", Status: status, Want: "it has no running process"}
	case status == Paused && !opts.IgnorePaused:
		return -1, &StateError{ID: opts.ID, Op: "exec in", Status: status, Want: "resume it first, or use --ignore-paused"}
	}

	var sigs *signals
	if !opts.Detach {
		if sigs, err = catchSignals(); err != nil {
			return -1, err
		}
		defer sigs.stop()
	}
	proc, err := newProcess(opts.Process, opts.LogLevel)
	if err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	proc.Stdin, proc.Stdout, proc.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	if err := addPreservedFDs(proc, opts.PreserveFDs); err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	if opts.Cgroup != "" {
		if proc.SubCgroupPaths, err = parseSubCgroup(opts.Cgroup); err != nil {
			return -1, err
		}
	}
	tty, closers, err := attachIO(proc, opts.Process.Terminal, opts.Detach, opts.ConsoleSocket, opts.PidfdSocket)
	if err != nil {
		return -1, err
	}
	defer func() {
		for _, cl := range closers {
			cl.Close()
		}
		if tty != nil {
			tty.close()
		}
	}()
	if sigs != nil {
		sigs.wait()
	}
	if err := withInitGOMAXPROCS(r.oneProcInit, func() error { return c.lc.Run(proc) }); err != nil {
		err = diagnoseExec(err, c.lc.Config().Rootfs, opts.Process.Args[0], opts.Process.Env)
		return -1, execError(opts.ID, opts.Process.Args[0], err)
	}
	if tty != nil {
		if err := tty.wait(); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			return -1, err
		}
	}
	if err := writePidFile(opts.PidFile, proc); err != nil {
		_ = proc.Signal(unix.SIGKILL)
		return -1, err
	}
	if opts.Detach {
		return 0, nil
	}
	pid, err := proc.Pid()
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", opts.ID, err)
	}
	return forward(sigs.c, pid, tty), nil
}

// execError turns libcontainer's report of a failed execve into an
// ExecError with the shell's exit code. libcontainer passes the init
// process's error as text, so the text is what can be checked.
func execError(id, path string, err error) error {
	msg := err.Error()
	if !strings.Contains(msg, `exec: "`+path+`"`) && !strings.Contains(msg, "exec "+path+":") {
		return fmt.Errorf("exec in container %s: %w", id, err)
	}
	if strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") {
		return &ExecError{Path: path, Code: 127, Err: err}
	}
	return &ExecError{Path: path, Code: 126, Err: err}
}

// parseSubCgroup reads --cgroup: "path" or "ctrl[,ctrl]:path".
func parseSubCgroup(s string) (map[string]string, error) {
	paths := make(map[string]string)
	for _, part := range strings.Split(s, ";") {
		ctrls, path, found := strings.Cut(part, ":")
		if !found {
			paths[""] = ctrls
			continue
		}
		if path == "" {
			return nil, fmt.Errorf("--cgroup %q: empty path", s)
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			paths[ctrl] = path
		}
	}
	return paths, nil
}
