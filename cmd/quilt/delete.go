package main

import (
	"context"

	"github.com/urfave/cli/v3"
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
	Action: func(_ context.Context, cmd *cli.Command) error {
		id, err := containerID(cmd)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		return rt.Delete(id, cmd.Bool("force"))
	},
}
