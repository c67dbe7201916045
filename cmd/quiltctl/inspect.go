package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func inspectCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show containers or images as JSON",
		ArgsUsage: "(CONTAINER | IMAGE)...",
		Description: `Writes a JSON array with one object per argument, in the API's JSON
mapping. An argument is looked up as a container, then as an image, unless
--type says which.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Usage: "look up only this kind: container or image"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			kind := cmd.String("type")
			if kind != "" && kind != "container" && kind != "image" {
				return fmt.Errorf("--type %q: want container or image", kind)
			}
			var found []proto.Message
			err := forEachID(s, func(ctx context.Context, cmd *cli.Command, ref string) error {
				m, err := inspect(ctx, s, ref, kind)
				if err == nil {
					found = append(found, m)
				}
				return err
			})(ctx, cmd)
			if found == nil && err != nil && !s.connected() {
				return err
			}
			if werr := writeJSONArray(cmd.Root().Writer, found); werr != nil {
				return werr
			}
			return err
		},
	}
}

// inspect looks ref up as a container, then as an image.
func inspect(ctx context.Context, s *session, ref, kind string) (proto.Message, error) {
	if kind != "image" {
		c, err := s.containers.Inspect(ctx, &quiltv1.InspectRequest{Id: ref})
		if err == nil || kind == "container" || !isCode(err, codes.NotFound) {
			return c, err
		}
	}
	img, err := s.images.Inspect(ctx, &quiltv1.InspectImageRequest{Ref: ref})
	if kind == "" && isCode(err, codes.NotFound) {
		return nil, fmt.Errorf("no such container or image: %s", ref)
	}
	return img, err
}
