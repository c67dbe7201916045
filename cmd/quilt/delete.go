package main

import (
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a stopped container and its resources",
	ArgsUsage: "<container-id>",
	Description: `Removes the container's state and cgroup and runs its poststop hooks. A
created or running container is refused unless --force, which kills it first.`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is not stopped; succeed if it does not exist"},
	},
	Action: withContainer(func(cmd *cli.Command, rt *libquilt.Runtime, id string) error {
		return rt.Delete(id, cmd.Bool("force"))
	}),
}
