package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func imagesCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:  "images",
		Usage: "list images",
		Description: `-q prints whole ids ("sha256:..."), which every command takes; the table
shows the first 12 hex digits. --format json writes one JSON object per image
and line.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "print whole ids"},
			formatFlag(),
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if err := noArgs(cmd); err != nil {
				return err
			}
			asJSON, err := checkFormat(cmd)
			if err != nil {
				return err
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			resp, err := s.images.List(ctx, &quiltv1.ListImagesRequest{})
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			switch {
			case cmd.Bool("quiet"):
				for _, img := range resp.GetImages() {
					fmt.Fprintln(w, img.GetId())
				}
			case asJSON:
				for _, img := range resp.GetImages() {
					if err := writeJSONLine(w, img); err != nil {
						return err
					}
				}
			default:
				return writeTable(w, imageHeader, imageRows(resp.GetImages(), time.Now(), cmd.Bool("no-trunc")))
			}
			return nil
		},
	}
}
