package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// prefix starts every message that the shell itself prints, so that a user
// of a broken image sees which /bin/sh answered.
const prefix = "quilt-sh"

// defaultPath is searched when PATH is unset, as other shells do.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// internal starts the names that callHandler gives to the builtins interp
// lacks, so that execHandler can tell them from commands. A shell word
// cannot hold a NUL byte, so no script can call them by that name.
const internal = "\x00quilt-sh:"

// callHandler sees every simple command after expansion. It routes the
// builtins that interp lacks (kill, umask, ulimit, job control), `command
// -v` and `type` (which must know about built-in utilities), and `exec CMD`
// to execHandler, unless a shell function of that name exists.
func (s *Shell) callHandler(ctx context.Context, args []string) ([]string, error) {
	if r := runnerOf(interp.HandlerCtx(ctx)); r != nil && r.Funcs[args[0]] != nil {
		return args, nil
	}
	switch args[0] {
	case "exec":
		if len(args) > 1 {
			// The exec builtin passes the marker on to execHandler and
			// makes the shell exit after it.
			return slices.Concat([]string{"exec", internal + "exec"}, args[1:]), nil
		}
	case "kill", "umask", "ulimit", "jobs", "fg", "bg":
		return slices.Concat([]string{internal + args[0]}, args[1:]), nil
	case "command":
		if len(args) > 2 && args[1] == "-v" {
			return slices.Concat([]string{internal + "command-v"}, args[2:]), nil
		}
	case "type":
		if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
			return slices.Concat([]string{internal + "type"}, args[1:]), nil
		}
	}
	return args, nil
}

// execHandler runs every command that is not a function or an interp
// builtin.
func (s *Shell) execHandler(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	c := s.callFrom(ctx, hc)
	name, ok := strings.CutPrefix(args[0], internal)
	if !ok {
		return s.command(c, args[0], args)
	}
	args = args[1:]
	switch name {
	case "exec":
		return s.execBuiltin(c, hc, args)
	case "kill":
		return runUtility(c, "kill", args)
	case "umask":
		return runBuiltin(c, "umask", umask, args)
	case "ulimit":
		return runBuiltin(c, "ulimit", ulimit, args)
	case "command-v":
		return s.describeCommands(c, runnerOf(hc), args, false)
	case "type":
		return s.describeCommands(c, runnerOf(hc), args, true)
	default: // jobs, fg, bg
		fmt.Fprintf(c.stderr, "%s: %s: job control %v\n", prefix, name, ErrUnsupported)
		return interp.ExitStatus(1)
	}
}

// callFrom makes the call context of a command run by the interpreter.
func (s *Shell) callFrom(ctx context.Context, hc interp.HandlerContext) *call {
	return &call{
		ctx:    ctx,
		stdin:  hc.Stdin,
		stdout: hc.Stdout,
		stderr: hc.Stderr,
		dir:    hc.Dir,
		env:    hc.Env,
		run: func(c *call, argv []string) error {
			return s.command(c, argv[0], argv)
		},
		spawn: func(c *call, argv []string) error {
			return s.command(c, argv[0], argv)
		},
	}
}

// execBuiltin is `exec [-c] [-l] [-a name] CMD ARGS...`. In the main shell
// of a process that allows it, CMD replaces the process; elsewhere (in a
// subshell, a pipeline, $(...)) it runs as a child, and interp ends the
// subshell with its status.
func (s *Shell) execBuiltin(c *call, hc interp.HandlerContext, args []string) error {
	var argv0 string
	login := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		args = args[1:]
		switch opt {
		case "--":
		case "-c":
			c = c.withEnv(nil)
		case "-l":
			login = true
		case "-a":
			if len(args) == 0 {
				fmt.Fprintf(c.stderr, "%s: exec: -a needs a name\n", prefix)
				return interp.ExitStatus(2)
			}
			argv0, args = args[0], args[1:]
		default:
			fmt.Fprintf(c.stderr, "%s: exec: unknown option %s\n", prefix, opt)
			return interp.ExitStatus(2)
		}
		if opt == "--" {
			break
		}
	}
	if len(args) == 0 {
		return nil
	}
	file := args[0]
	argv := slices.Clone(args)
	if argv0 != "" {
		argv[0] = argv0
	}
	if login {
		argv[0] = "-" + argv[0]
	}
	if s.opts.Replace && runnerOf(hc) == s.runner {
		return s.replace(c, file, argv)
	}
	return s.command(c, file, argv)
}

// command runs file (a command name or a path) with argv as a child
// process, or as a built-in utility when PATH has no executable of that
// name, and returns its exit status.
func (s *Shell) command(c *call, file string, argv []string) error {
	path, util, err := s.resolve(c, file)
	switch {
	case err != nil:
		return notFound(c, file, err)
	case util:
		return runUtility(c, file, argv[1:])
	}
	env := environ(c.env)
	newCmd := func() *exec.Cmd {
		return &exec.Cmd{Path: path, Args: argv, Env: env, Dir: c.dir, Stdin: c.stdin, Stdout: c.stdout, Stderr: c.stderr}
	}
	cmd := newCmd()
	err = cmd.Start()
	// A file that another goroutine of ours still holds open for writing
	// (a concurrent fork) fails with ETXTBSY for a short while.
	for delay := time.Millisecond; errors.Is(err, syscall.ETXTBSY) && delay < 300*time.Millisecond; delay *= 2 {
		time.Sleep(delay)
		cmd = newCmd()
		err = cmd.Start()
	}
	if err != nil {
		return s.startFailed(c, file, path, argv, err, false)
	}
	stop := context.AfterFunc(c.ctx, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	defer stop()
	return waitStatus(cmd, cmd.Wait())
}

// replace is command for `exec` in the main shell and for env(1): it
// replaces the process with execve(2). A built-in utility, and a script
// that quilt-sh runs itself, run in this process instead; the caller exits
// with their status.
func (s *Shell) replace(c *call, file string, argv []string) error {
	path, util, err := s.resolve(c, file)
	switch {
	case err != nil:
		return notFound(c, file, err)
	case util:
		// The utility stands for the process: `exec env CMD` must still
		// replace it with CMD.
		inProcess := *c
		inProcess.run = func(c *call, argv []string) error {
			return s.replace(c, argv[0], argv)
		}
		return runUtility(&inProcess, file, argv[1:])
	}
	err = execve(c, path, argv, environ(c.env))
	return s.startFailed(c, file, path, argv, err, true)
}

// resolve finds what runs for file: a path, or a built-in utility.
//   - a name with a slash is that path;
//   - QUILT_SH_PREFER_BUILTINS=1 makes a built-in utility win;
//   - otherwise an executable in PATH wins, then a built-in utility.
func (s *Shell) resolve(c *call, file string) (path string, util bool, err error) {
	if strings.Contains(file, "/") {
		return c.path(file), false, nil
	}
	if IsUtility(file) && (s.opts.PreferBuiltins || c.getenv("QUILT_SH_PREFER_BUILTINS") == "1") {
		return "", true, nil
	}
	path, err = lookPath(c, file)
	if err != nil && IsUtility(file) {
		return "", true, nil
	}
	return path, false, err
}

// lookPath searches PATH (defaultPath when unset) for an executable file.
// A dangling symlink counts when nothing better is found, so that the
// failure to run it is diagnosed rather than reported as "not found".
func lookPath(c *call, file string) (string, error) {
	list := defaultPath
	if v := c.env.Get("PATH"); v.IsSet() {
		list = v.String()
	}
	var denied, dangling string
	for _, dir := range filepath.SplitList(list) {
		if dir == "" {
			dir = "."
		}
		p := c.path(filepath.Join(dir, file))
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			if _, lerr := os.Lstat(p); lerr == nil && dangling == "" {
				dangling = p
			}
		case fi.IsDir():
		case unix.Access(p, unix.X_OK) != nil:
			if denied == "" {
				denied = p
			}
		default:
			return p, nil
		}
	}
	switch {
	case dangling != "":
		return dangling, nil
	case denied != "":
		return denied, fmt.Errorf("%s: %w", denied, ErrNotExecutable)
	}
	return "", fmt.Errorf("%s: %w", file, ErrNotFound)
}

func notFound(c *call, file string, err error) error {
	if errors.Is(err, ErrNotExecutable) {
		fmt.Fprintf(c.stderr, "%s: %s: Permission denied\n", prefix, file)
		return interp.ExitStatus(126)
	}
	fmt.Fprintf(c.stderr, "%s: %s: not found\n", prefix, file)
	return interp.ExitStatus(127)
}

// startFailed handles a file that the kernel refused to start:
//   - ENOEXEC (no #!): the shell runs it as a script, as POSIX requires;
//   - ENOENT on a file that exists: its ELF or #! interpreter is missing
//     or it is a dangling link. The shell says so, then runs the script
//     itself when the interpreter is a POSIX-like shell, or the built-in
//     utility of the same name; otherwise the status is 127;
//   - anything else (EACCES, EISDIR, ...) is 126.
func (s *Shell) startFailed(c *call, file, path string, argv []string, err error, replacing bool) error {
	switch {
	case errors.Is(err, syscall.ENOEXEC):
		return s.script(c, path, argv, replacing)
	case errors.Is(err, syscall.ENOENT):
		d := diagnose(path)
		if !d.exists {
			fmt.Fprintf(c.stderr, "%s: %s: not found\n", prefix, file)
			return interp.ExitStatus(127)
		}
		if d.shell != "" && c.getenv("QUILT_SH_SHEBANG_FALLBACK") != "0" {
			s.warnOnce(c, path, fmt.Sprintf("%s: %s: %s; running it with quilt-sh", prefix, path, d.reason))
			return s.script(c, path, argv, replacing, shebangFlags(d.shellArg)...)
		}
		if base := filepath.Base(file); IsUtility(base) {
			s.warnOnce(c, path, fmt.Sprintf("%s: %s: %s is broken (%s); using built-in %s", prefix, base, path, d.reason, base))
			return runUtility(c, base, argv[1:])
		}
		fmt.Fprintf(c.stderr, "%s: %s: %s is broken (%s)\n", prefix, file, path, d.reason)
		return interp.ExitStatus(127)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EPERM):
		fmt.Fprintf(c.stderr, "%s: %s: Permission denied\n", prefix, file)
	default:
		fmt.Fprintf(c.stderr, "%s: %s: %s\n", prefix, file, describe(err))
	}
	return interp.ExitStatus(126)
}

func (s *Shell) warnOnce(c *call, key, msg string) {
	if _, done := s.warned.LoadOrStore(key, true); !done {
		fmt.Fprintln(c.stderr, msg)
	}
}

// script runs the file at path as a shell script in a new shell, which
// shares nothing with this one but the exported environment, like a child
// /bin/sh would. $0 is path. When replacing, the new shell is the
// process's main shell: its own `exec` replaces the process.
func (s *Shell) script(c *call, path string, argv []string, replacing bool, flags ...string) error {
	head := make([]byte, 256)
	if f, err := os.Open(path); err == nil {
		n, _ := f.Read(head)
		head = head[:n]
		f.Close()
	}
	line, _, _ := strings.Cut(string(head), "\n")
	if strings.IndexByte(line, 0) >= 0 {
		fmt.Fprintf(c.stderr, "%s: %s: cannot execute binary file\n", prefix, argv[0])
		return interp.ExitStatus(126)
	}
	sub, err := newShell(Options{
		Stdin:          c.stdin,
		Stdout:         c.stdout,
		Stderr:         c.stderr,
		Env:            environ(c.env),
		Dir:            c.dir,
		Name:           s.opts.Name,
		Flags:          flags,
		PreferBuiltins: s.opts.PreferBuiltins,
		Replace:        replacing && s.opts.Replace,
	}, s.warned)
	if err != nil {
		return err
	}
	return sub.RunFile(c.ctx, path, argv[1:])
}

// shebangFlags returns the set(1) options in the argument of a #! line
// ("-e", "-eu", "-o pipefail"), or none when it holds anything else.
func shebangFlags(arg string) []string {
	if arg == "" {
		return nil
	}
	inv, err := ParseArgs(append([]string{"sh"}, strings.Fields(arg)...))
	if err != nil || inv.Mode != ModeStdin || len(inv.Args) > 0 {
		return nil
	}
	return inv.Flags
}

// waitStatus turns the end of a child into an exit status: its code, or
// 128+n for a signal.
func waitStatus(cmd *exec.Cmd, err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return interp.ExitStatus(128 + int(ws.Signal()))
		}
		return interp.ExitStatus(ee.ExitCode())
	}
	if cmd.ProcessState != nil && cmd.ProcessState.Success() {
		return nil // the child succeeded; only copying its output failed
	}
	if err != nil {
		return interp.ExitStatus(1)
	}
	return nil
}

// describeCommands is `command -v` (verbose false) and `type`.
func (s *Shell) describeCommands(c *call, r *interp.Runner, names []string, verbose bool) error {
	status := error(nil)
	for _, n := range names {
		var kind string
		switch {
		case r != nil && r.Funcs[n] != nil:
			kind = "a function"
		case syntax.IsKeyword(n):
			kind = "a shell keyword"
		case interp.IsBuiltin(n):
			kind = "a shell builtin"
		default:
			path, util, err := s.resolve(c, n)
			switch {
			case util:
				kind = "a quilt-sh builtin utility"
			case err != nil:
				if verbose {
					fmt.Fprintf(c.stderr, "%s: type: %s: not found\n", prefix, n)
				}
				status = interp.ExitStatus(1)
				continue
			case verbose:
				fmt.Fprintf(c.stdout, "%s is %s\n", n, path)
				continue
			default:
				fmt.Fprintln(c.stdout, path)
				continue
			}
		}
		if verbose {
			fmt.Fprintf(c.stdout, "%s is %s\n", n, kind)
		} else {
			fmt.Fprintln(c.stdout, n)
		}
	}
	return status
}

// environ lists the exported string variables of env as KEY=VALUE, sorted.
func environ(env expand.Environ) []string {
	if env == nil {
		return nil
	}
	vals := map[string]string{}
	for name, vr := range env.Each {
		if !vr.IsSet() || !vr.Exported || vr.Kind != expand.String {
			delete(vals, name)
			continue
		}
		vals[name] = vr.String()
	}
	list := make([]string, 0, len(vals))
	for k, v := range vals {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}
