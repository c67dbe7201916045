package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init process",
	ArgsUsage: "<container-id> [signal]",
	Description: `The signal is a name with or without SIG (TERM, SIGTERM) or a number (15).
A created container can be signalled; a stopped one cannot.`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container, not only init"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		id, err := idWithArgs(cmd, 1)
		if err != nil {
			return err
		}
		name := cmd.Args().Get(1)
		if name == "" {
			name = "SIGTERM"
		}
		sig, err := parseSignal(name)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		return rt.Kill(id, sig, cmd.Bool("all"))
	},
}

// parseSignal accepts "15", "TERM", "SIGTERM" and "sigterm".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %d is out of range (1-64)", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
