package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

var errNoID = errors.New("missing container id")

// containerID returns the command's only argument, the container id.
func containerID(cmd *cli.Command) (string, error) {
	return idWithArgs(cmd, 0)
}

// idWithArgs returns the id, allowing up to extra further arguments.
func idWithArgs(cmd *cli.Command, extra int) (string, error) {
	args := cmd.Args()
	if !args.Present() || args.First() == "" {
		return "", fmt.Errorf("%s: %w (usage: quilt %s %s)", cmd.Name, errNoID, cmd.Name, cmd.ArgsUsage)
	}
	if args.Len() > 1+extra {
		return "", fmt.Errorf("%s: too many arguments %q (usage: quilt %s %s)", cmd.Name, args.Slice()[1:], cmd.Name, cmd.ArgsUsage)
	}
	return args.First(), nil
}

// newRuntime returns the runtime over the global --root.
func newRuntime(cmd *cli.Command) (*libquilt.Runtime, error) {
	return libquilt.New(libquilt.Options{
		Root:          cmd.String("root"),
		SystemdCgroup: cmd.Bool("systemd-cgroup"),
		Shell:         cmd.String("quilt-sh"),
		// One container per command.
		OneProcInit: true,
	})
}

// enterBundle changes to the bundle directory, as runc does: hooks and
// relative paths in config.json see the bundle as their working directory.
func enterBundle(cmd *cli.Command) (string, error) {
	bundle := cmd.String("bundle")
	if bundle == "" {
		return os.Getwd()
	}
	if err := os.Chdir(bundle); err != nil {
		return "", fmt.Errorf("bundle %s: %w", bundle, errors.Unwrap(err))
	}
	return os.Getwd()
}

// withContainer makes the action of a command whose only argument is a
// container id: it checks the id and opens the runtime, then runs f.
func withContainer(f func(cmd *cli.Command, rt *libquilt.Runtime, id string) error) cli.ActionFunc {
	return func(_ context.Context, cmd *cli.Command) error {
		id, err := containerID(cmd)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		return f(cmd, rt, id)
	}
}
