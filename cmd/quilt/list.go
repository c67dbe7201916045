package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list the containers under the root",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		if cmd.Args().Present() {
			return fmt.Errorf("list: unexpected arguments %q", cmd.Args().Slice())
		}
		format := cmd.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("list: --format %q: want table or json", format)
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		states, err := rt.List()
		if err != nil {
			return err
		}
		w := cmd.Root().Writer
		switch {
		case cmd.Bool("quiet"):
			for _, s := range states {
				fmt.Fprintln(w, s.ID)
			}
		case format == "json":
			if states == nil {
				states = []libquilt.State{}
			}
			return json.NewEncoder(w).Encode(states)
		default:
			tw := tabwriter.NewWriter(w, 12, 1, 3, ' ', 0)
			fmt.Fprint(tw, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return tw.Flush()
		}
		return nil
	},
}
