package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func createCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a container from an image without starting it",
		ArgsUsage: "(IMAGE | --image-path FILE) [--] [COMMAND [ARG...]]",
		Description: `Prints the new container's id. The command replaces the image's cmd; it is
passed as it is (argv), never through a shell: use --sh "a; b" for a shell
command line. quiltctl exits with 125 when the container cannot be created.`,
		StopOnNthArg: one(),
		Flags:        containerFlags(),
		OnUsageError: usageError(exitRunFailure),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			c, err := create(ctx, s, cmd)
			if err != nil {
				return &codedError{code: exitRunFailure, err: err}
			}
			fmt.Fprintln(cmd.Root().Writer, c.GetId())
			return nil
		},
	}
}

// create creates the container that create and run -d describe.
func create(ctx context.Context, s *session, cmd *cli.Command) (*quiltv1.Container, error) {
	req, imagePath, err := createRequest(cmd)
	if err != nil {
		return nil, err
	}
	if err := s.dial(ctx); err != nil {
		return nil, err
	}
	return withImagePath(req, imagePath, func(req *quiltv1.CreateRequest) (*quiltv1.Container, error) {
		return s.containers.Create(ctx, req)
	})
}

// withImagePath calls call with req, which names the image --image-path
// gave by its path. When quiltd does not know that image yet (NotFound), it
// calls again with image_path set, so that quiltd imports the file first;
// later calls find the image under its path.
func withImagePath[T any](req *quiltv1.CreateRequest, imagePath string, call func(*quiltv1.CreateRequest) (T, error)) (T, error) {
	v, err := call(req)
	if err == nil || imagePath == "" || !isCode(err, codes.NotFound) {
		return v, err
	}
	retry := proto.CloneOf(req)
	retry.ImagePath = imagePath
	retry.Config.Image = ""
	return call(retry)
}
