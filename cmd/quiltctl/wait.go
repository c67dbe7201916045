package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func waitCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait until containers exit, and print their exit codes",
		ArgsUsage: "CONTAINER...",
		Action: forEachID(s, func(ctx context.Context, cmd *cli.Command, id string) error {
			w, err := s.containers.Wait(ctx, &quiltv1.WaitRequest{Id: id})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.Root().Writer, w.GetExitCode())
			return nil
		}),
	}
}
