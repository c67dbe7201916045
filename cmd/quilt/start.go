package main

import (
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "run the process of a created container",
	ArgsUsage: "<container-id>",
	Action: withContainer(func(_ *cli.Command, rt *libquilt.Runtime, id string) error {
		_, err := rt.Start(id)
		return err
	}),
}
