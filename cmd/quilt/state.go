package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print the state of a container as JSON",
	ArgsUsage: "<container-id>",
	Action: withContainer(func(cmd *cli.Command, rt *libquilt.Runtime, id string) error {
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
	}),
}
