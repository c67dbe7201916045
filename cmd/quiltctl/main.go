// Command quiltctl is the command-line client of quiltd, Quilt's container
// daemon. It speaks quiltd's gRPC API (api/quilt/v1) over a unix socket.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// defaultAddress is quiltd's socket unless --address or QUILT_ADDRESS says
// otherwise.
const defaultAddress = "/run/quilt/quiltd.sock"

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &session{}
	defer s.close()
	app := newApp(s)
	app.Reader, app.Writer, app.ErrWriter = stdin, stdout, stderr
	err := app.Run(ctx, args)
	var status exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		// A status the shell cannot see (os.Exit(256) exits with 0).
		if status < 0 || status > 255 {
			return 255
		}
		return int(status)
	}
	fmt.Fprintf(stderr, "quiltctl: %v\n", err)
	var coded *codedError
	if errors.As(err, &coded) {
		return coded.code
	}
	return 1
}

func newApp(s *session) *cli.Command {
	app := &cli.Command{
		Name:    "quiltctl",
		Usage:   "control quiltd, Quilt's container daemon",
		Version: version + ", commit " + commit,
		Description: `quiltctl runs containers from imported images through quiltd:

   quiltctl import --name busybox:latest busybox.tar
   quiltctl run busybox echo hello
   quiltctl run -d --name web -m 256M busybox -- httpd -f
   quiltctl exec -it web sh`,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name: "address", Value: defaultAddress, Sources: cli.EnvVars("QUILT_ADDRESS"),
				Usage: "quiltd's unix socket", TakesFile: true,
			},
		},
		Before: func(ctx context.Context, cmd *cli.Command) (context.Context, error) {
			addr := cmd.String("address")
			if addr == "" {
				return ctx, fmt.Errorf("--address: %w", errEmptyAddress)
			}
			abs, err := filepath.Abs(addr)
			if err != nil {
				return ctx, fmt.Errorf("--address %s: %w", addr, err)
			}
			s.address = abs
			return ctx, nil
		},
		ExitErrHandler:         func(context.Context, *cli.Command, error) {},
		UseShortOptionHandling: true,
		Commands: []*cli.Command{
			runCommand(s), createCommand(s), startCommand(s), execCommand(s),
			logsCommand(s), psCommand(s), inspectCommand(s), stopCommand(s),
			killCommand(s), rmCommand(s), waitCommand(s), statsCommand(s),
			eventsCommand(s), importCommand(s), imagesCommand(s), rmiCommand(s),
			networkCommand(s), versionCommand(s),
		},
		// An unknown command must fail, not print help and exit 0.
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return fmt.Errorf("unknown command %q (see quiltctl --help)", cmd.Args().First())
			}
			return cli.ShowAppHelp(cmd)
		},
	}
	for _, sub := range app.Commands {
		// "-e A=1,2" is one variable and "--mount type=bind,..." one mount.
		sub.DisableSliceFlagSeparator = true
		if sub.OnUsageError == nil {
			sub.OnUsageError = usageError(1)
		}
	}
	return app
}

// usageError reports a command-line mistake in one line, with the status
// code (125 for run and create, as docker does).
func usageError(code int) cli.OnUsageErrorFunc {
	return func(_ context.Context, cmd *cli.Command, err error, _ bool) error {
		return &codedError{code: code, err: fmt.Errorf("%s: %w (see quiltctl %s --help)", cmd.Name, err, cmd.Name)}
	}
}
