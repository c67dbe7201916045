package main

import (
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of a container",
	ArgsUsage: "<container-id>",
	Action: withContainer(func(_ *cli.Command, rt *libquilt.Runtime, id string) error {
		return rt.Pause(id)
	}),
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "<container-id>",
	Action: withContainer(func(_ *cli.Command, rt *libquilt.Runtime, id string) error {
		return rt.Resume(id)
	}),
}
