package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
	"github.com/quilt-runtime/quilt/nixfix"
)

// bundleFlags are the flags create and run share.
func bundleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current directory)"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master when process.terminal is true"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the container's init"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the container init's pid to"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE instead of pivot_root (for a root on a ramdisk)"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many extra file descriptors (from fd 3) to the container"},
		&cli.StringFlag{Name: "nixfix", Usage: "check or repair a Nix-built rootfs first: off, check or repair (overrides annotation quilt.nixfix; default repair)"},
		&cli.StringFlag{Name: "shell", Usage: "provide quilt-sh at /.quilt/bin/sh: never, auto or always (overrides annotation quilt.shell; default auto)"},
		&cli.StringFlag{Name: "nixfix-policy", Usage: "nixfix policy items: substitute=same-name|none, shimShells, fhsLoader, strict (added to annotation quilt.nixfix.policy)"},
	}
}

// nixfixFlags reads --nixfix, --shell and --nixfix-policy.
func nixfixFlags(cmd *cli.Command) (libquilt.NixfixFlags, error) {
	f := libquilt.NixfixFlags{Policy: cmd.String("nixfix-policy")}
	if v := cmd.String("nixfix"); v != "" {
		switch m := nixfix.Mode(v); m {
		case nixfix.ModeOff, nixfix.ModeCheck, nixfix.ModeRepair:
			f.Mode = m
		default:
			return f, fmt.Errorf("--nixfix %q: want off, check or repair", v)
		}
	}
	if v := cmd.String("shell"); v != "" {
		m, err := nixfix.ParseShellMode(v)
		if err != nil {
			return f, fmt.Errorf("--shell: %w", err)
		}
		f.Shell = m
	}
	if _, err := nixfix.ParsePolicy(f.Policy); err != nil {
		return f, fmt.Errorf("--nixfix-policy: %w", err)
	}
	return f, nil
}

// createOptions reads the shared flags; it changes into the bundle.
func createOptions(cmd *cli.Command) (libquilt.CreateOptions, error) {
	id, err := containerID(cmd)
	if err != nil {
		return libquilt.CreateOptions{}, err
	}
	if err := libquilt.ValidateID(id); err != nil {
		return libquilt.CreateOptions{}, err
	}
	fix, err := nixfixFlags(cmd)
	if err != nil {
		return libquilt.CreateOptions{}, err
	}
	bundle, err := enterBundle(cmd)
	if err != nil {
		return libquilt.CreateOptions{}, err
	}
	return libquilt.CreateOptions{
		ID:            id,
		Bundle:        bundle,
		PidFile:       cmd.String("pid-file"),
		ConsoleSocket: cmd.String("console-socket"),
		PidfdSocket:   cmd.String("pidfd-socket"),
		NoPivot:       cmd.Bool("no-pivot"),
		NoNewKeyring:  cmd.Bool("no-new-keyring"),
		PreserveFDs:   int(cmd.Int("preserve-fds")),
		Stdin:         os.Stdin,
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		LogLevel:      logrus.GetLevel(),
		Nixfix:        fix,
	}, nil
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container",
	ArgsUsage: "<container-id>",
	Description: `Creates the container described by the bundle and leaves its process waiting
for "quilt start". The container's stdio are those of this command.`,
	Flags: bundleFlags(),
	Action: func(_ context.Context, cmd *cli.Command) error {
		opts, err := createOptions(cmd)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		return rt.Create(opts)
	},
}
