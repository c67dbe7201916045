// Command quilt-sh is a static POSIX shell and multi-call utility binary
// for containers whose image has no working /bin/sh or coreutils.
//
//	sh -c CMD [NAME [ARGS...]]   sh FILE [ARGS...]   sh [-s] < commands
//	env [-i] [NAME=VALUE...] CMD  (as /usr/bin/env, by basename)
//	ls -l, cat, grep, ...         (by basename, or `quilt-sh ls -l`)
//
// The behaviour lives in package shell; this file parses the command line
// and turns the result into an exit status.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/sys/unix"
	"mvdan.cc/sh/v3/interp"

	"github.com/quilt-runtime/quilt/shell"
)

const usage = `usage: sh [-eux] [-o option] [-c command [name [arg...]] | file [arg...] | -s [arg...]]
       quilt-sh UTILITY [arg...]    quilt-sh --list
`

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	inv, err := shell.ParseArgs(argv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "quilt-sh: %v\n%s", err, usage)
		return 2
	}
	ctx := context.Background()
	opts := shell.Options{
		Name:           argv[0],
		Flags:          inv.Flags,
		PreferBuiltins: os.Getenv("QUILT_SH_PREFER_BUILTINS") == "1",
		Replace:        true, // exec and env may replace this process
	}
	switch inv.Mode {
	case shell.ModeList:
		fmt.Println(strings.Join(shell.Utilities(), "\n"))
		return 0
	case shell.ModeUtility:
		return status(shell.RunUtility(ctx, inv.Utility, inv.Args, opts))
	}
	sh, err := shell.New(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "quilt-sh: %v\n", err)
		return 2
	}
	interactive := inv.Mode == shell.ModeStdin && (inv.Interactive || isTerminal(0))
	if inv.Login {
		for _, p := range []string{"/etc/profile", os.Getenv("HOME") + "/.profile"} {
			if err := sh.Source(ctx, p); err != nil {
				fmt.Fprintf(os.Stderr, "quilt-sh: %s: %v\n", p, err)
			}
		}
	}
	if env := os.Getenv("ENV"); interactive && env != "" {
		if err := sh.Source(ctx, env); err != nil {
			fmt.Fprintf(os.Stderr, "quilt-sh: %s: %v\n", env, err)
		}
	}
	switch inv.Mode {
	case shell.ModeCommand:
		err = sh.RunCommand(ctx, inv.Command, inv.Name, inv.Args)
	case shell.ModeFile:
		err = sh.RunFile(ctx, inv.File, inv.Args)
	default:
		if interactive {
			// Ctrl-C stops the foreground child, not the shell. A caught
			// signal is reset to the default in children, unlike an
			// ignored one.
			signal.Notify(make(chan os.Signal, 1), os.Interrupt)
		}
		err = sh.RunReader(ctx, os.Stdin, inv.Args, interactive)
	}
	return status(err)
}

// status turns the shell's result into an exit status.
func status(err error) int {
	if es, ok := errors.AsType[interp.ExitStatus](err); ok {
		return int(es)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "quilt-sh: %v\n", err)
		return 1
	}
	return 0
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
