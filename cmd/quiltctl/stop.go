package main

import (
	"context"
	"fmt"
	"math"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func stopCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop running containers: the stop signal, then SIGKILL after a timeout",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "time", Aliases: []string{"t", "timeout"}, Usage: "seconds to wait before SIGKILL (default 10; 0 kills at once)"},
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "first signal (default SIGTERM)"},
		},
		Action: forEachID(s, func(ctx context.Context, cmd *cli.Command, id string) error {
			req := &quiltv1.StopRequest{Id: id, Signal: cmd.String("signal")}
			if cmd.IsSet("time") {
				t := cmd.Int("time")
				if t < 0 || t > math.MaxInt32 {
					return fmt.Errorf("--time %d: want a number of seconds", t)
				}
				timeout := int32(t)
				req.Timeout = &timeout
			}
			if _, err := s.containers.Stop(ctx, req); err != nil {
				return err
			}
			fmt.Fprintln(cmd.Root().Writer, id)
			return nil
		}),
	}
}
