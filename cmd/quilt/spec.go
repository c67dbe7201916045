package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
	"github.com/quilt-runtime/quilt/spec"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "create a new specification file (config.json)",
	Description: `Writes a default config.json into the bundle directory: "sh" in ./rootfs with a
terminal, a read-only root and private namespaces, as runc spec does. It never
overwrites an existing config.json.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current directory)"},
		&cli.BoolFlag{Name: "rootless", Usage: "a configuration for a container run by a user without root"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		if cmd.Args().Present() {
			return fmt.Errorf("spec: unexpected arguments %q", cmd.Args().Slice())
		}
		s := spec.Default(spec.Options{
			Terminal: true,
			Rootless: cmd.Bool("rootless"),
			UID:      uint32(os.Geteuid()),
			GID:      uint32(os.Getegid()),
			Cgroup2:  libquilt.Cgroup2Unified(),
		})
		data, err := json.MarshalIndent(s, "", "\t")
		if err != nil {
			return err
		}
		path := filepath.Join(cmd.String("bundle"), libquilt.ConfigFile)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("spec: %s already exists; remove it first", path)
		} else if err != nil {
			return fmt.Errorf("spec: %w", err)
		}
		_, err = f.Write(append(data, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("spec: %w", err)
		}
		return nil
	},
}
