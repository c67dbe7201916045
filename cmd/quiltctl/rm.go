package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func rmCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill a running container first"},
		},
		Action: forEachID(s, func(ctx context.Context, cmd *cli.Command, id string) error {
			if _, err := s.containers.Remove(ctx, &quiltv1.RemoveRequest{Id: id, Force: cmd.Bool("force")}); err != nil {
				return err
			}
			fmt.Fprintln(cmd.Root().Writer, id)
			return nil
		}),
	}
}
