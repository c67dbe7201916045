package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/nixfix"
)

var nixfixCommand = &cli.Command{
	Name:      "nixfix",
	Usage:     "check or repair a Nix-built root filesystem",
	ArgsUsage: "[--bundle DIR | ROOTFS]",
	Description: `Finds what keeps a Nix-built image from running (links into missing store
paths, missing ELF or "#!" interpreters, no /bin/sh or /usr/bin/env) by
resolving every path inside the rootfs, as the container will. --repair adds
same-name store aliases and the /.quilt/bin/sh mount point for quilt-sh;
--check changes nothing; --undo reverses the last repair. With --bundle, the
process and the quilt.nixfix annotations of config.json are used. Prints a
summary on stderr. Exit status: 0 ok, partial or skipped; 1 error; 2 strict
policy and a partial result; 3 --check found a warning or an error.

--hook runs nixfix as an OCI createRuntime (or prestart) hook of runc or
crun: it reads the container state on stdin, repairs the rootfs of its
bundle, copies quilt-sh to /.quilt/bin/sh (a hook cannot add a mount) and
writes the report to BUNDLE/nixfix.json. It fails, and with it the create,
only when the strict policy leaves the repair partial (exit 2).`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "check", Usage: "report only, write nothing"},
		&cli.BoolFlag{Name: "repair", Usage: "repair what can be repaired"},
		&cli.BoolFlag{Name: "undo", Usage: "reverse the repair recorded in ROOTFS/.quilt/nixfix.json"},
		&cli.BoolFlag{Name: "hook", Usage: "run as an OCI createRuntime hook: container state on stdin, quilt-sh installed by copy"},
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory: rootfs, process and annotations from its config.json"},
		&cli.StringFlag{Name: "report", Usage: "write the JSON report to this file"},
		&cli.StringFlag{Name: "shell", Usage: "provide the quilt-sh mount point: never, auto or always (overrides quilt.shell)"},
		&cli.StringFlag{Name: "policy", Usage: "policy items: substitute=same-name|none, shimShells, fhsLoader, strict"},
		&cli.BoolFlag{Name: "strict", Usage: "exit 2 if the repair leaves warnings or errors unresolved"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		if cmd.Bool("hook") {
			return nixfixHook(cmd, os.Stdin)
		}
		mode, err := nixfixMode(cmd)
		if err != nil {
			return err
		}
		rootfs, o, err := nixfixTarget(cmd)
		if err != nil {
			return writeNixfixReport(cmd, nixfix.FailedReport(mode, nixfix.CodeConfig, cmd.String("bundle"), err))
		}
		if mode == "undo" {
			return nixfixUndo(cmd, rootfs)
		}
		o.Mode = mode
		if err := applyNixfixFlags(cmd, &o); err != nil {
			return err
		}
		rep, _ := nixfix.Run(rootfs, o)
		return writeNixfixReport(cmd, rep)
	},
}

// applyNixfixFlags applies --shell, --policy and --strict over the
// annotations.
func applyNixfixFlags(cmd *cli.Command, o *nixfix.Options) error {
	flags := map[string]string{}
	if v := cmd.String("shell"); v != "" {
		flags[nixfix.AnnotationShell] = v
	}
	if v := cmd.String("policy"); v != "" {
		flags[nixfix.AnnotationPolicy] = v
	}
	if err := o.ApplyAnnotations(flags); err != nil {
		return err
	}
	if cmd.Bool("strict") {
		o.Policy.Strict = true
	}
	return nil
}

// nixfixMode reads the one of --check, --repair and --undo that was given.
func nixfixMode(cmd *cli.Command) (nixfix.Mode, error) {
	var modes []nixfix.Mode
	for _, m := range []nixfix.Mode{nixfix.ModeCheck, nixfix.ModeRepair, "undo"} {
		if cmd.Bool(string(m)) {
			modes = append(modes, m)
		}
	}
	if len(modes) != 1 {
		return "", errors.New("nixfix: want exactly one of --check, --repair and --undo")
	}
	return modes[0], nil
}

// nixfixTarget returns the rootfs and the options of --bundle or ROOTFS.
func nixfixTarget(cmd *cli.Command) (string, nixfix.Options, error) {
	bundle, args := cmd.String("bundle"), cmd.Args().Slice()
	switch {
	case bundle != "" && len(args) == 0:
		return nixfix.BundleOptions(bundle)
	case bundle == "" && len(args) == 1:
		return args[0], nixfix.Options{}, nil
	}
	return "", nixfix.Options{}, errors.New("want --bundle DIR or one ROOTFS argument")
}

// writeNixfixReport prints the summary on stderr, writes --report, and
// passes the report's exit code on.
func writeNixfixReport(cmd *cli.Command, rep *nixfix.Report) error {
	_ = rep.WriteText(os.Stderr)
	if p := cmd.String("report"); p != "" {
		data, err := rep.JSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("report %s: %w", p, err)
		}
	}
	if rep.ExitCode != 0 {
		return exitCode(rep.ExitCode)
	}
	return nil
}

// nixfixUndo reverses the repair recorded inside rootfs.
func nixfixUndo(cmd *cli.Command, rootfs string) error {
	rep, err := nixfix.ReadInRootReport(rootfs)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "nixfix: %s: no repair recorded, nothing to undo\n", rootfs)
		return nil
	}
	if err != nil {
		return fmt.Errorf("nixfix undo: %w", err)
	}
	steps, err := nixfix.Undo(rootfs, rep.Actions)
	if err != nil {
		return fmt.Errorf("nixfix undo: %w", err)
	}
	skipped := 0
	for _, s := range steps {
		if s.Undone {
			fmt.Fprintf(os.Stderr, "nixfix: undone: %s %s %s\n", s.Action, s.Op, s.Path)
		} else {
			skipped++
			fmt.Fprintf(os.Stderr, "nixfix: skipped: %s %s %s: %s\n", s.Action, s.Op, s.Path, s.Reason)
		}
	}
	fmt.Fprintf(os.Stderr, "nixfix: summary: undone=%d skipped=%d\n", len(steps)-skipped, skipped)
	if p := cmd.String("report"); p != "" {
		data, err := json.MarshalIndent(steps, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("report %s: %w", p, err)
		}
	}
	return nil
}
