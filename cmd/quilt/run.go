package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and run a container",
	ArgsUsage: "<container-id>",
	Description: `Creates and starts the container described by the bundle. In the foreground
quilt forwards the signals it receives to the container, exits with the
container's exit status and removes the container (unless --keep).`,
	Flags: append(bundleFlags(),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.BoolFlag{Name: "keep", Usage: "do not remove the container after it exits"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "accepted for runc compatibility; quilt always reaps the container's init"},
	),
	Action: func(_ context.Context, cmd *cli.Command) error {
		opts, err := createOptions(cmd)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		status, err := rt.Run(libquilt.RunOptions{
			CreateOptions: opts,
			Detach:        cmd.Bool("detach"),
			Keep:          cmd.Bool("keep"),
		})
		if err != nil {
			return err
		}
		if status != 0 {
			return exitCode(status)
		}
		return nil
	},
}
