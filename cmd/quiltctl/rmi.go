package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func rmiCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "rmi",
		Usage:     "remove images",
		ArgsUsage: "IMAGE...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove an image that containers use"},
		},
		Action: forEachID(s, func(ctx context.Context, cmd *cli.Command, ref string) error {
			resp, err := s.images.Remove(ctx, &quiltv1.RemoveImageRequest{Ref: ref, Force: cmd.Bool("force")})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.Root().Writer, "Deleted: "+resp.GetId())
			return nil
		}),
	}
}
