// Command quilt is an OCI container runtime with runc's command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
	// Turns the process into a container's init or a hook shim when it
	// was re-executed as one, before this package initialises.
	_ "github.com/quilt-runtime/quilt/libquilt/reexec"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	os.Exit(run(os.Args))
}

// run executes the command line and returns the process exit status.
func run(args []string) int {
	app := newApp()
	err := app.Run(context.Background(), args)
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	if logToFile {
		logrus.Error(err)
	}
	fmt.Fprintf(os.Stderr, "quilt: %v\n", err)
	var coded *codedError
	if errors.As(err, &coded) {
		return coded.code
	}
	return 1
}

// codedError is an error with its own exit status (exec: 126, 127, 255).
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// extraCommands are added by optional build tags (man).
var extraCommands []*cli.Command

// exitCode carries a container's exit status out of an action.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newApp() *cli.Command {
	cli.VersionPrinter = printVersion
	return &cli.Command{
		Name:    "quilt",
		Usage:   "Open Container Initiative runtime",
		Version: version,
		Description: `quilt runs containers from OCI bundles, as runc does: a directory with a
config.json and a root filesystem. Create a bundle's config.json with
"quilt spec", then "quilt run ID" inside the bundle.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: libquilt.DefaultRoot, Usage: "directory for container state (tmpfs recommended)"},
			&cli.StringFlag{Name: "log", Usage: "write quilt's log to this file (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug output"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "manage cgroups with systemd (cgroupsPath \"slice:prefix:name\")"},
			&cli.StringFlag{Name: "criu", Value: "criu", Usage: "path to the criu binary (checkpoint/restore)"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless cgroup handling: true, false or auto"},
			&cli.StringFlag{Name: "quilt-sh", Sources: cli.EnvVars("QUILT_SH"), Usage: "quilt-sh binary that nixfix mounts into containers (default: " + libquilt.DefaultShellPath + ", else quilt-sh next to quilt)"},
		},
		Before:         setupLogging,
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Commands: append([]*cli.Command{
			specCommand, createCommand, startCommand, runCommand, stateCommand,
			killCommand, deleteCommand, listCommand, execCommand, psCommand,
			pauseCommand, resumeCommand, updateCommand, eventsCommand, featuresCommand,
			checkpointCommand, restoreCommand, unpackCommand, nixfixCommand,
		}, extraCommands...),
		// An unknown command must fail, not print help and exit 0.
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return fmt.Errorf("unknown command %q (see quilt --help)", cmd.Args().First())
			}
			return cli.ShowAppHelp(cmd)
		},
	}
}

func printVersion(cmd *cli.Command) {
	w := cmd.Root().Writer
	fmt.Fprintf(w, "quilt version %s\n", cmd.Root().Version)
	fmt.Fprintf(w, "commit: %s\n", commit)
	fmt.Fprintf(w, "spec: %s\n", specs.Version)
	fmt.Fprintf(w, "go: %s\n", runtime.Version())
	if major, minor, micro := libquilt.SeccompVersion(); major+minor+micro > 0 {
		fmt.Fprintf(w, "libseccomp: %d.%d.%d\n", major, minor, micro)
	}
}
