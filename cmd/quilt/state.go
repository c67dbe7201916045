package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v3"
)

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print the state of a container as JSON",
	ArgsUsage: "<container-id>",
	Action: func(_ context.Context, cmd *cli.Command) error {
		id, err := containerID(cmd)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		st, err := rt.State(id)
		if err != nil {
			return err
		}
		data, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.Root().Writer, string(data))
		return nil
	},
}
