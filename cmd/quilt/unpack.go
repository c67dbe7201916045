package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/libquilt"
)

// unpackCommand hands over to quilt-unpack, which links the image
// libraries: they would otherwise cost every container start (quilt runs
// twice per container) a few milliseconds of package initialization.
var unpackCommand = &cli.Command{
	Name:            "unpack",
	Usage:           "turn an image into a runnable bundle (see quilt unpack --help)",
	ArgsUsage:       "<image>[:<ref>] <bundle>",
	SkipFlagParsing: true,
	Action: func(_ context.Context, cmd *cli.Command) error {
		bin, err := libquilt.LibexecBinary("quilt-unpack")
		if err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		argv := append([]string{"quilt unpack"}, cmd.Args().Slice()...)
		if err := unix.Exec(bin, argv, os.Environ()); err != nil {
			return fmt.Errorf("unpack: exec %s: %w", bin, err)
		}
		return nil
	},
}
