package main

import (
	"context"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
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
	}
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
