package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print the runtime-spec features document of this build",
	Action: func(_ context.Context, cmd *cli.Command) error {
		if cmd.Args().Present() {
			return fmt.Errorf("features: unexpected arguments %q", cmd.Args().Slice())
		}
		enc := json.NewEncoder(cmd.Root().Writer)
		enc.SetIndent("", "    ")
		return enc.Encode(libquilt.Features(cmd.Root().Version, commit))
	},
}
