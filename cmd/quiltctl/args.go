package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// exitRunFailure is the status of run and create when they fail before the
// container ran, as docker's 125: it cannot be mistaken for the container's.
const exitRunFailure = 125

// one makes StopOnNthArg stop flag parsing after the first argument (the
// image or container), so that the command's own flags stay its own.
func one() *int { n := 1; return &n }

// forEachID calls f for each argument of a command that takes container
// ids, after connecting. Like docker it goes on after an error, shows each
// error and ends with status 1 when one failed.
func forEachID(s *session, f func(ctx context.Context, cmd *cli.Command, id string) error) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		ids := cmd.Args().Slice()
		if len(ids) == 0 {
			return fmt.Errorf("%s: %w (usage: quiltctl %s %s)", cmd.Name, errNoArgs, cmd.Name, cmd.ArgsUsage)
		}
		if err := s.dial(ctx); err != nil {
			return err
		}
		failed := false
		for _, id := range ids {
			if err := f(ctx, cmd, id); err != nil {
				fmt.Fprintf(cmd.Root().ErrWriter, "quiltctl: %v\n", err)
				failed = true
			}
		}
		if failed {
			return exitStatus(1)
		}
		return nil
	}
}

// noArgs refuses arguments to a command that takes none.
func noArgs(cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("%s: unexpected arguments %q", cmd.Name, cmd.Args().Slice())
	}
	return nil
}

// checkFormat accepts the --format values table and json.
func checkFormat(cmd *cli.Command) (json bool, err error) {
	switch f := cmd.String("format"); f {
	case "", "table":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, fmt.Errorf("--format %q: want table or json", f)
	}
}

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or json"}
}

// displayName names a container in messages: its name, else its short id.
func displayName(c *quiltv1.Container) string {
	if c.GetName() != "" {
		return c.GetName()
	}
	return shortID(c.GetId())
}

// terminalFd is the descriptor of v when it is a terminal. It leaves the
// file's blocking mode as it is, which f.Fd would change.
func terminalFd(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok {
		return -1, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd := -1
	if rc.Control(func(d uintptr) { fd = int(d) }) != nil {
		return -1, false
	}
	return fd, term.IsTerminal(fd)
}

// syncWriter serialises writes from the goroutines of one command.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
