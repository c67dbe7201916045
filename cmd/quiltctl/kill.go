package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func killCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal to running containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "signal: a name (TERM, SIGTERM) or a number (15)"},
		},
		Action: forEachID(s, func(ctx context.Context, cmd *cli.Command, id string) error {
			if _, err := s.containers.Kill(ctx, &quiltv1.KillRequest{Id: id, Signal: cmd.String("signal")}); err != nil {
				return err
			}
			fmt.Fprintln(cmd.Root().Writer, id)
			return nil
		}),
	}
}
