package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v3"
)

var psStopAfterID = 1

var psCommand = &cli.Command{
	Name:         "ps",
	Usage:        "list the processes running in a container",
	ArgsUsage:    "<container-id> [-- ps options]",
	StopOnNthArg: &psStopAfterID,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table (ps(1) output) or json (an array of host pids)"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		args := cmd.Args().Slice()
		if len(args) == 0 || args[0] == "" {
			return fmt.Errorf("ps: %w (usage: quilt ps %s)", errNoID, cmd.ArgsUsage)
		}
		id, psArgs := args[0], args[1:]
		if len(psArgs) > 0 && psArgs[0] == "--" {
			psArgs = psArgs[1:]
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		w := cmd.Root().Writer
		switch f := cmd.String("format"); f {
		case "json":
			pids, err := rt.Processes(id)
			if err != nil {
				return err
			}
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(w).Encode(pids)
		case "table":
			out, err := rt.PsTable(id, psArgs)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(w, out)
			return err
		default:
			return fmt.Errorf("ps: --format %q: want table or json", f)
		}
	},
}
