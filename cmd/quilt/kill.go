package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init process",
	ArgsUsage: "<container-id> [signal]",
	Description: `The signal is a name with or without SIG (TERM, SIGTERM) or a number (15).
A created container can be signalled; a stopped one cannot.`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container, not only init"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		id, err := idWithArgs(cmd, 1)
		if err != nil {
			return err
		}
		name := cmd.Args().Get(1)
		if name == "" {
			name = "SIGTERM"
		}
		sig, err := libquilt.ParseSignal(name)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		return rt.Kill(id, sig, cmd.Bool("all"))
	},
}
