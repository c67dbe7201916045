//go:build man

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	docs "github.com/urfave/cli-docs/v3"
	"github.com/urfave/cli/v3"
)

// Built only with -tags man (make man), so the runtime binary does not
// carry the documentation generator.
func init() { extraCommands = append(extraCommands, manCommand) }

var manCommand = &cli.Command{
	Name:      "man",
	Usage:     "write quilt(8) and one quilt-COMMAND(8) page per command into DIR",
	ArgsUsage: "<dir>",
	Hidden:    true,
	Action: func(_ context.Context, cmd *cli.Command) error {
		dir := cmd.Args().First()
		if dir == "" {
			return fmt.Errorf("man: missing output directory")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("man: %w", err)
		}
		root := cmd.Root()
		if err := writeMan(filepath.Join(dir, "quilt.8"), root); err != nil {
			return err
		}
		for _, sub := range root.Commands {
			if sub.Hidden || sub.Name == "help" {
				continue
			}
			page := &cli.Command{
				Name: "quilt-" + sub.Name, Usage: sub.Usage, UsageText: "quilt " + sub.Name + " [options] " + sub.ArgsUsage,
				Description: sub.Description, Flags: sub.Flags,
			}
			if err := writeMan(filepath.Join(dir, "quilt-"+sub.Name+".8"), page); err != nil {
				return err
			}
		}
		return nil
	},
}

func writeMan(path string, cmd *cli.Command) error {
	page, err := docs.ToManWithSection(cmd, 8)
	if err != nil {
		return fmt.Errorf("man page %s: %w", path, err)
	}
	return os.WriteFile(path, []byte(page), 0o644)
}
