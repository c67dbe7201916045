package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func psCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "list containers",
		Description: `Lists the running containers, or all with -a. Filters, each a KEY=VALUE:
label=KEY or label=KEY=VALUE, name=PART, status=created|running|paused|exited
(stopped ones are listed without -a then) and image=REF. --format json writes
one JSON object per container and line.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "list stopped containers too"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "list only the containers that match (KEY=VALUE)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "print whole ids and commands"},
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
			req := &quiltv1.ListRequest{All: cmd.Bool("all")}
			if err := parseListFilters(cmd.StringSlice("filter"), req); err != nil {
				return fmt.Errorf("--filter %w", err)
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			resp, err := s.containers.List(ctx, req)
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			rows := containerRows(resp.GetContainers(), time.Now(), cmd.Bool("no-trunc"))
			switch {
			case cmd.Bool("quiet"):
				for _, r := range rows {
					fmt.Fprintln(w, r[0])
				}
			case asJSON:
				for _, c := range resp.GetContainers() {
					if err := writeJSONLine(w, c); err != nil {
						return err
					}
				}
			default:
				return writeTable(w, containerHeader, rows)
			}
			return nil
		},
	}
}
