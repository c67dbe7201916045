package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/u-root/u-root/pkg/core"
	"github.com/u-root/u-root/pkg/core/touch"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// call is one run of a built-in utility: its stdio, working directory and
// environment, taken from the shell that runs it or from the process.
type call struct {
	ctx    context.Context
	name   string // utility name, the prefix of every message
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	dir    string // absolute working directory
	env    expand.Environ
	// run runs a command line for env(1) the way the caller would: as a
	// child of the shell, or by execve when quilt-sh runs as env itself.
	run func(c *call, argv []string) error
	// spawn runs a command line as a child (or a built-in utility) and
	// returns its status, for find -exec.
	spawn func(c *call, argv []string) error
	// failed is set by warnf; the utility then exits 1.
	failed bool
}

// utility is the body of a built-in utility. It returns nil for success,
// an interp.ExitStatus for a chosen status, or an error that is printed as
// "name: err" (exit 2 when it wraps ErrUsage, else 1).
type utility func(c *call, args []string) error

var utilities map[string]utility

func init() {
	utilities = map[string]utility{
		"basename": basenameUtil,
		"cat":      cat,
		"chmod":    chmod,
		"chown":    chown,
		"cp":       cp,
		"diagnose": diagnoseUtil,
		"dirname":  dirnameUtil,
		"echo":     shellBuiltin,
		"env":      envUtil,
		"false":    shellBuiltin,
		"find":     find,
		"grep":     grep,
		"head":     head,
		"id":       id,
		"kill":     kill,
		"ln":       ln,
		"ls":       ls,
		"mkdir":    mkdir,
		"mktemp":   mktemp,
		"mv":       mv,
		"printf":   shellBuiltin,
		"pwd":      shellBuiltin,
		"readlink": readlink,
		"rm":       rm,
		"rmdir":    rmdir,
		"sleep":    sleep,
		"tail":     tail,
		"tee":      tee,
		"test":     shellBuiltin,
		"[":        shellBuiltin,
		"touch":    uroot(touch.New),
		"true":     shellBuiltin,
		"uname":    uname,
		"wc":       wc,
	}
}

// IsUtility reports whether name is a built-in utility.
func IsUtility(name string) bool {
	_, ok := utilities[name]
	return ok
}

// Utilities returns the names of the built-in utilities, sorted.
func Utilities() []string {
	names := make([]string, 0, len(utilities))
	for n := range utilities {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// RunUtility runs the built-in utility name with args (without the name),
// as `quilt-sh name args` and a symlink called name do. The process's
// stdio, directory and environment fill in what opts leaves empty. A
// command that env runs replaces the process when opts.Replace is set.
func RunUtility(ctx context.Context, name string, args []string, opts Options) error {
	if !IsUtility(name) {
		return fmt.Errorf("utility %s: %w", name, ErrNotFound)
	}
	// No interpreter here: it would start copying a non-file stdin.
	s := &Shell{opts: opts.withDefaults(), warned: &sync.Map{}}
	c := &call{
		ctx:    ctx,
		stdin:  s.opts.Stdin,
		stdout: s.opts.Stdout,
		stderr: s.opts.Stderr,
		dir:    s.opts.Dir,
		env:    expand.ListEnviron(s.opts.Env...),
	}
	c.spawn = func(c *call, argv []string) error {
		return s.command(c, argv[0], argv)
	}
	c.run = func(c *call, argv []string) error {
		if opts.Replace {
			return s.replace(c, argv[0], argv)
		}
		return s.command(c, argv[0], argv)
	}
	return runUtility(c, name, args)
}

// runUtility runs one utility and turns its error into an exit status.
func runUtility(c *call, name string, args []string) error {
	return runBuiltin(c, name, utilities[name], args)
}

// runBuiltin runs u as name and turns its error into an exit status.
func runBuiltin(c *call, name string, u utility, args []string) error {
	c.name = name
	c.failed = false
	err := u(c, args)
	if status, ok := errors.AsType[interp.ExitStatus](err); ok {
		return status
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", name, err)
		if errors.Is(err, ErrUsage) {
			return interp.ExitStatus(2)
		}
		return interp.ExitStatus(1)
	}
	if c.failed {
		return interp.ExitStatus(1)
	}
	return nil
}

// path makes p absolute against the utility's working directory.
func (c *call) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

func (c *call) getenv(name string) string {
	return c.env.Get(name).String()
}

func (c *call) lookupEnv(name string) (string, bool) {
	v := c.env.Get(name)
	return v.String(), v.IsSet()
}

// warnf reports a problem with one operand and lets the utility go on with
// the others; the utility then exits 1.
func (c *call) warnf(format string, args ...any) {
	fmt.Fprintf(c.stderr, c.name+": "+format+"\n", args...)
	c.failed = true
}

// warn reports err for one operand, with the path error's own wording.
func (c *call) warn(err error) {
	c.warnf("%s", describe(err))
}

// withEnv returns a copy of c whose environment is env.
func (c *call) withEnv(env []string) *call {
	c2 := *c
	c2.env = expand.ListEnviron(env...)
	return &c2
}

// describe formats an error the way coreutils do: "path: No such file or
// directory" rather than Go's "open path: no such file or directory".
func describe(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + errnoText(pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Old + " -> " + le.New + ": " + errnoText(le.Err)
	}
	return err.Error()
}

func errnoText(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// uroot adapts a u-root core utility.
func uroot(newCmd func() core.Command) utility {
	return func(c *call, args []string) error {
		cmd := newCmd()
		cmd.SetIO(c.stdin, c.stdout, c.stderr)
		cmd.SetWorkingDir(c.dir)
		cmd.SetLookupEnv(c.lookupEnv)
		return cmd.RunContext(c.ctx, args...)
	}
}
