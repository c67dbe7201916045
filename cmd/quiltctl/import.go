package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func importCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "import an image from a file or directory on this host",
		ArgsUsage: "PATH",
		Description: `PATH is an OCI image layout, a docker-save archive or a rootfs tarball;
quiltd reads it. The image is named by its absolute path, and by --name.
Progress goes to stderr (a bar on a terminal), the image's id to stdout.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "a reference to give the image (myimage:1)"},
			&cli.StringFlag{Name: "ref", Usage: "the image to pick from an archive or layout that holds several"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "show no progress"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return fmt.Errorf("import: want one path (usage: quiltctl import %s)", cmd.ArgsUsage)
			}
			path, err := filepath.Abs(cmd.Args().First())
			if err != nil {
				return fmt.Errorf("import %s: %w", cmd.Args().First(), err)
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			stream, err := s.images.Import(ctx, &quiltv1.ImportRequest{Path: path, Ref: cmd.String("ref"), Name: cmd.String("name")})
			if err != nil {
				return err
			}
			pr := &progressPrinter{w: io.Discard}
			if !cmd.Bool("quiet") {
				pr.w = cmd.Root().ErrWriter
				if fd, ok := terminalFd(pr.w); ok {
					pr.terminal, pr.width = true, 80
					if cols, _, err := term.GetSize(fd); err == nil && cols > 0 {
						pr.width = cols
					}
				}
			}
			var img *quiltv1.Image
			for {
				p, err := stream.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					pr.finish()
					return err
				}
				pr.update(p)
				if p.GetImage() != nil {
					img = p.GetImage()
				}
			}
			pr.finish()
			if img == nil {
				return fmt.Errorf("import %s: %w: no image", path, errStreamEnded)
			}
			fmt.Fprintln(cmd.Root().Writer, img.GetId())
			return nil
		},
	}
}
