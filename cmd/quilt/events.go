package main

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"time"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/libquilt"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "stream a container's events (stats, oom) as JSON lines",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events"},
		&cli.BoolFlag{Name: "stats", Usage: "print one stats event and exit"},
	},
	Action: func(ctx context.Context, cmd *cli.Command) error {
		id, err := containerID(cmd)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(cmd.Root().Writer)
		if cmd.Bool("stats") {
			st, err := rt.Stats(id)
			if err != nil {
				return err
			}
			return enc.Encode(&libquilt.Event{Type: "stats", ID: id, Data: st})
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, unix.SIGTERM)
		defer stop()
		return rt.Events(ctx, id, cmd.Duration("interval"), func(e *libquilt.Event) error {
			return enc.Encode(e)
		})
	},
}
