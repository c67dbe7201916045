package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func eventsCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "show what happens to containers and images from now on",
		Description: `Writes one line per event until interrupted. Filters: container=ID|NAME and
type=TYPE (repeatable), where the types are create, start, exit, oom, remove,
import and image-remove. --format json writes one JSON object per line.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "show only the events that match (KEY=VALUE)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output format: text or json"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if err := noArgs(cmd); err != nil {
				return err
			}
			format := cmd.String("format")
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			req := &quiltv1.EventsRequest{}
			if err := parseEventFilters(cmd.StringSlice("filter"), req); err != nil {
				return fmt.Errorf("--filter %w", err)
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			stream, err := s.containers.Events(ctx, req)
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			for {
				e, err := stream.Recv()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				if format == "json" {
					err = writeJSONLine(w, e)
				} else {
					_, err = io.WriteString(w, eventLine(e)+"\n")
				}
				if err != nil {
					return err
				}
			}
		},
	}
}

// eventLine is an event as text: its time, type and object, then the name,
// exit code and attributes in parentheses.
func eventLine(e *quiltv1.Event) string {
	var b strings.Builder
	b.WriteString(e.GetTime().AsTime().UTC().Format(logTimeLayout))
	b.WriteString(" " + e.GetType() + " " + e.GetId())
	var attrs []string
	if e.GetName() != "" {
		attrs = append(attrs, "name="+e.GetName())
	}
	if e.GetType() == "exit" {
		attrs = append(attrs, "exitCode="+strconv.Itoa(int(e.GetExitCode())))
	}
	for _, k := range slices.Sorted(maps.Keys(e.GetAttributes())) {
		attrs = append(attrs, k+"="+e.GetAttributes()[k])
	}
	if len(attrs) > 0 {
		b.WriteString(" (" + strings.Join(attrs, ", ") + ")")
	}
	return b.String()
}
