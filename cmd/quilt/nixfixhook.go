package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
	"github.com/quilt-runtime/quilt/nixfix"
)

// nixfixHook is `quilt nixfix --hook`: an OCI createRuntime or
// prestart hook for runc and crun. It runs in the runtime's namespaces on
// the rootfs directory, so it installs quilt-sh by copy. Like the built-in
// step of create, it fails only when the strict policy leaves the repair
// partial (after undoing it); every other problem is printed on stderr and
// the container starts as it is.
func nixfixHook(cmd *cli.Command, stdin io.Reader) error {
	if cmd.Bool("check") || cmd.Bool("repair") || cmd.Bool("undo") || cmd.String("bundle") != "" || cmd.Args().Len() > 0 {
		return errors.New("nixfix: --hook takes the bundle from the state on stdin, and no --check, --repair, --undo, --bundle or ROOTFS")
	}
	st, err := nixfix.ParseHookState(stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nixfix hook: %v; rootfs left as it is\n", err)
		return nil
	}
	reportPath := cmd.String("report")
	if reportPath == "" {
		reportPath = filepath.Join(st.Bundle, nixfix.HookReportName)
	}
	rootfs, o, err := nixfix.HookOptions(st)
	if err == nil {
		err = applyNixfixFlags(cmd, &o)
	}
	if err != nil {
		rep := nixfix.FailedReport(nixfix.ModeRepair, nixfix.CodeConfig, st.Bundle, err)
		return hookResult(rep, reportPath)
	}
	if o.Mode == nixfix.ModeOff && o.Shell == nixfix.ShellNever {
		return nil
	}
	if o.Shell != nixfix.ShellNever {
		sh, cleanup, err := hookShell(cmd)
		if err != nil {
			fmt.Fprintf(os.Stderr, "nixfix hook: %v; no /.quilt/bin/sh\n", err)
			o.Shell = nixfix.ShellNever
		} else {
			defer cleanup()
			o.ShellBinary = sh
		}
	}
	rep, _ := nixfix.Run(rootfs, o)
	if rep.ExitCode == nixfix.ExitStrict && len(rep.Actions) > 0 {
		if _, err := nixfix.Undo(rootfs, rep.Actions); err != nil {
			fmt.Fprintf(os.Stderr, "nixfix hook: undo of the repair: %v\n", err)
		}
	}
	return hookResult(rep, reportPath)
}

// hookShell makes a private, hash-checked copy of quilt-sh (--quilt-sh,
// else the installed one, else the one next to quilt) for the copy into
// the rootfs, and returns the function that removes it.
func hookShell(cmd *cli.Command) (nixfix.ShellBinary, func(), error) {
	src := cmd.String("quilt-sh")
	if src == "" {
		p, err := libquilt.LibexecBinary("quilt-sh")
		if err != nil {
			return nixfix.ShellBinary{}, nil, err
		}
		src = p
	}
	dir, err := os.MkdirTemp("", "quilt-nixfix-hook-")
	if err != nil {
		return nixfix.ShellBinary{}, nil, fmt.Errorf("shell copy: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	sh, err := nixfix.InstallShell(src, filepath.Join(dir, "quilt-sh"))
	if err != nil {
		cleanup()
		return nixfix.ShellBinary{}, nil, err
	}
	return sh, cleanup, nil
}

// hookResult prints the summary, writes the full report and turns
// the report's exit code into the hook's: 2 for a strict failure, else 0,
// because a failing hook fails the create.
func hookResult(rep *nixfix.Report, reportPath string) error {
	_ = rep.WriteText(os.Stderr)
	data, err := rep.JSON()
	if err == nil {
		err = os.WriteFile(reportPath, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "nixfix hook: report %s: %v\n", reportPath, err)
	}
	if rep.ExitCode == nixfix.ExitStrict {
		return exitCode(nixfix.ExitStrict)
	}
	return nil
}
