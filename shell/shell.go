package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Options configure a Shell. The zero value is a shell on the process's
// stdio, environment and working directory that never replaces the
// process.
type Options struct {
	// Stdin, Stdout and Stderr default to the process's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env is the initial environment as KEY=VALUE; nil means os.Environ().
	Env []string
	// Dir is the working directory; empty means the process's own.
	Dir string
	// Name is $0 for `sh -c` without a name and for stdin, and the name
	// that messages start with. Empty means "sh".
	Name string
	// Flags are set(1) options applied before the script runs, such as
	// "-e", "-u", "-x" or "-o", "pipefail".
	Flags []string
	// PreferBuiltins runs a built-in utility even when PATH holds an
	// executable of that name, as QUILT_SH_PREFER_BUILTINS=1 does.
	PreferBuiltins bool
	// Replace lets `exec CMD` in the main shell (not in a subshell, a
	// pipeline or $(...)) and env(1) replace the process with execve(2).
	// Without it, exec runs CMD as a child and the shell exits with its
	// status. Only a program that owns its process (cmd/quilt-sh) sets it.
	Replace bool
}

// Shell runs scripts with quilt-sh's handlers. It is not safe for
// concurrent use.
type Shell struct {
	opts   Options
	runner *interp.Runner
	// warned remembers the broken executables already reported, shared
	// with the shells started for scripts.
	warned *sync.Map
}

// New returns a shell configured by opts.
func New(opts Options) (*Shell, error) {
	return newShell(opts, &sync.Map{})
}

func newShell(opts Options, warned *sync.Map) (*Shell, error) {
	s := &Shell{opts: opts.withDefaults(), warned: warned}
	opts = s.opts
	r, err := interp.New(
		interp.StdIO(opts.Stdin, opts.Stdout, opts.Stderr),
		interp.Env(newShellEnviron(opts)),
		interp.Dir(opts.Dir),
		interp.CallHandler(s.callHandler),
		interp.ExecHandler(s.execHandler),
	)
	if err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	if len(opts.Flags) > 0 {
		if err := interp.Params(opts.Flags...)(r); err != nil {
			return nil, fmt.Errorf("shell options %q: %w: %w", opts.Flags, err, ErrUsage)
		}
	}
	s.runner = r
	return s, nil
}

// withDefaults fills in what opts leaves empty from the process.
func (opts Options) withDefaults() Options {
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Dir == "" {
		dir, err := os.Getwd()
		if err != nil {
			dir = "/"
		}
		opts.Dir = dir
	}
	if opts.Name == "" {
		opts.Name = "sh"
	}
	return opts
}

// RunCommand runs src as `sh -c src name params...` does: name is $0
// (Options.Name when empty) and params are $1 and on.
func (s *Shell) RunCommand(ctx context.Context, src, name string, params []string) error {
	if name == "" {
		name = s.opts.Name
	}
	return s.runSource(ctx, strings.NewReader(src), name, params)
}

// RunFile runs the script at path with $0 = path, as `sh path params...`.
func (s *Shell) RunFile(ctx context.Context, path string, params []string) error {
	f, err := os.Open(s.abs(path))
	if err != nil {
		fmt.Fprintf(s.opts.Stderr, "%s: %s\n", prefix, describe(err))
		return interp.ExitStatus(127)
	}
	defer f.Close()
	return s.runSource(ctx, f, path, params)
}

func (s *Shell) runSource(ctx context.Context, src io.Reader, name string, params []string) error {
	file, err := syntax.NewParser().Parse(src, name)
	if err != nil {
		fmt.Fprintf(s.opts.Stderr, "%s: %v\n", prefix, err)
		return interp.ExitStatus(2)
	}
	s.setParams(params)
	return s.runner.Run(ctx, file)
}

// arg0Var holds $0 while statements run one at a time (RunReader): interp
// only knows $0 from a whole file's name.
const arg0Var = "QUILT_SH_ARG0"

// Source runs the file at path in this shell, as the `.` builtin does;
// a file that does not exist is skipped. A login shell sources
// /etc/profile and $HOME/.profile this way.
func (s *Shell) Source(ctx context.Context, path string) error {
	if _, err := os.Stat(s.abs(path)); err != nil {
		return nil
	}
	src := ". '" + strings.ReplaceAll(path, "'", `'\''`) + "'"
	return s.runSource(ctx, strings.NewReader(src), s.opts.Name, s.runner.Params)
}

// RunReader runs commands read from r one statement at a time, as `sh`
// reading its stdin does, so that a statement runs before the rest of the
// input arrives. With interactive set it prints a prompt ("# " for root,
// "$ " otherwise) on stderr before each command and goes on after errors.
func (s *Shell) RunReader(ctx context.Context, r io.Reader, params []string, interactive bool) error {
	s.setParams(params)
	prompt := func(string) {}
	if interactive {
		ps := "$ "
		if os.Geteuid() == 0 {
			ps = "# "
		}
		prompt = func(p string) {
			if p == "" {
				p = ps
			}
			fmt.Fprint(s.opts.Stderr, p)
		}
	}
	var last error
	prompt("")
	for restart := true; restart; {
		restart = false
		parser := syntax.NewParser()
		for stmts, err := range parser.InteractiveSeq(r) {
			if err != nil {
				fmt.Fprintf(s.opts.Stderr, "%s: %v\n", prefix, err)
				if !interactive {
					return s.exit(ctx, interp.ExitStatus(2))
				}
				// Drop the bad input and read on with a fresh parser.
				last, restart = interp.ExitStatus(2), true
				prompt("")
				break
			}
			if parser.Incomplete() {
				prompt("> ")
				continue
			}
			for _, st := range stmts {
				renameArg0(st)
				last = s.runner.Run(ctx, st)
				if s.runner.Exited() {
					return last
				}
				if last != nil && !isExitStatus(last) {
					return last // a fatal error, not a command's status
				}
			}
			prompt("")
		}
	}
	if interactive {
		fmt.Fprintln(s.opts.Stderr)
	}
	return s.exit(ctx, last)
}

// exit runs `exit` with the status of err, so that an EXIT trap runs.
func (s *Shell) exit(ctx context.Context, err error) error {
	status := 0
	if es, ok := errors.AsType[interp.ExitStatus](err); ok {
		status = int(es)
	}
	word := &syntax.Word{Parts: []syntax.WordPart{&syntax.Lit{Value: "exit"}}}
	code := &syntax.Word{Parts: []syntax.WordPart{&syntax.Lit{Value: fmt.Sprint(status)}}}
	return s.runner.Run(ctx, &syntax.Stmt{Cmd: &syntax.CallExpr{Args: []*syntax.Word{word, code}}})
}

// shellEnviron adds shell variables that are not exported to the
// environment: arg0Var, and HOME when the environment has none (the home
// directory from /etc/passwd, else "/"), so that ~ works in a bare image.
type shellEnviron struct {
	expand.Environ
	vars map[string]string
}

func newShellEnviron(opts Options) shellEnviron {
	env := expand.ListEnviron(opts.Env...)
	vars := map[string]string{arg0Var: opts.Name}
	if !env.Get("HOME").IsSet() {
		vars["HOME"] = "/"
		if u, err := user.Current(); err == nil && u.HomeDir != "" {
			vars["HOME"] = u.HomeDir
		}
	}
	return shellEnviron{Environ: env, vars: vars}
}

func (e shellEnviron) Get(name string) expand.Variable {
	if v, ok := e.vars[name]; ok {
		return expand.Variable{Set: true, Kind: expand.String, Str: v}
	}
	return e.Environ.Get(name)
}

func (e shellEnviron) Each(fn func(name string, vr expand.Variable) bool) {
	for name, vr := range e.Environ.Each {
		if _, ok := e.vars[name]; ok {
			continue
		}
		if !fn(name, vr) {
			return
		}
	}
	for name := range e.vars {
		if !fn(name, e.Get(name)) {
			return
		}
	}
}

// renameArg0 points $0 in st at arg0Var.
func renameArg0(st *syntax.Stmt) {
	syntax.Walk(st, func(n syntax.Node) bool {
		if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil && pe.Param.Value == "0" {
			pe.Param = &syntax.Lit{ValuePos: pe.Param.ValuePos, ValueEnd: pe.Param.ValueEnd, Value: arg0Var}
		}
		return true
	})
}

func (s *Shell) setParams(params []string) {
	s.runner.Params = slices.Clone(params)
}

func isExitStatus(err error) bool {
	_, ok := errors.AsType[interp.ExitStatus](err)
	return ok
}

// abs makes p absolute against the shell's starting directory.
func (s *Shell) abs(p string) string {
	c := &call{dir: s.opts.Dir}
	return c.path(p)
}

// shellBuiltin runs an interp builtin (echo, printf, test, [, pwd, true,
// false) as a utility, for `quilt-sh echo`, a symlink named echo, and env.
func shellBuiltin(c *call, args []string) error {
	s, err := New(Options{Stdin: c.stdin, Stdout: c.stdout, Stderr: c.stderr, Env: environ(c.env), Dir: c.dir})
	if err != nil {
		return err
	}
	return s.runSource(c.ctx, strings.NewReader(`"$@"`), c.name, slices.Concat([]string{c.name}, args))
}
