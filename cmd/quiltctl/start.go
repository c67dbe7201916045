package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func startCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start created containers",
		ArgsUsage: "CONTAINER...",
		Action: forEachID(s, func(ctx context.Context, cmd *cli.Command, id string) error {
			c, err := s.containers.Start(ctx, &quiltv1.StartRequest{Id: id})
			if err != nil {
				return err
			}
			if msg := c.GetError(); msg != "" {
				return fmt.Errorf("container %s: %s", id, msg)
			}
			fmt.Fprintln(cmd.Root().Writer, id)
			return nil
		}),
	}
}
