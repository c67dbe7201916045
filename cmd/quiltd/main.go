// Command quiltd is Quilt's container daemon: it serves the gRPC API of
// api/quilt/v1 on a unix socket and runs containers from imported images.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/daemon"
	"github.com/quilt-runtime/quilt/libquilt"
	// libcontainer re-executes this binary as each container's init: it
	// becomes that before the daemon's packages (gRPC among them)
	// initialise.
	_ "github.com/quilt-runtime/quilt/libquilt/reexec"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	// A container's init (libcontainer re-executing this binary) gets its
	// GOMAXPROCS from this process's environment and drops to one P as
	// soon as it runs; starting it with one spares it a thread and a
	// scheduler resize, 2 ms of every create here. The Go runtime reads
	// the variable only as it starts, so quiltd keeps every CPU; what it
	// starts (inits, CNI plugins) gets one.
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		_ = os.Setenv("GOMAXPROCS", "1")
	}
	if err := newApp().Run(context.Background(), os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "quiltd: %v\n", err)
		os.Exit(1)
	}
}

func newApp() *cli.Command {
	return &cli.Command{
		Name:    "quiltd",
		Usage:   "Quilt's container daemon",
		Version: version + " (commit " + commit + ")",
		Description: `quiltd keeps imported images and runs containers from them, with limits,
logs and exec, for quiltctl and other clients of its gRPC API. Containers
keep running when quiltd stops or dies; a new quiltd picks them up again.
Flags override the configuration file (JSON, keys as in docs/daemon.md).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "configuration file (JSON)"},
			&cli.StringFlag{Name: "address", Aliases: []string{"a"}, Usage: "unix socket to serve the API on (default " + daemon.DefaultAddress + ")"},
			&cli.StringFlag{Name: "group", Usage: "group that may use the socket too (default: root only)"},
			&cli.StringFlag{Name: "root", Usage: "directory for persistent state: images, containers, logs (default " + daemon.DefaultRoot + ")"},
			&cli.StringFlag{Name: "state", Usage: "directory for runtime state (default " + daemon.DefaultState + ")"},
			&cli.StringFlag{Name: "cgroup-parent", Usage: "cgroup under which containers are placed (default " + daemon.DefaultCgroupParent + ")"},
			&cli.StringFlag{Name: "init", Usage: "quilt-init binary, the containers' PID 1 (default: " + libquilt.LibexecDir + "/quilt-init, else next to quiltd)"},
			&cli.StringFlag{Name: "quilt-sh", Sources: cli.EnvVars("QUILT_SH"), Usage: "quilt-sh binary given to images without a working shell"},
			&cli.StringFlag{Name: "log-level", Usage: "log level: debug, info, warn, error (default info)"},
			&cli.StringFlag{Name: "log-format", Usage: "log format: text or json (default text)"},
		},
		Action: serve,
	}
}

// config merges the configuration file and the flags.
func config(cmd *cli.Command) (daemon.Config, error) {
	var cfg daemon.Config
	if path := cmd.String("config"); path != "" {
		c, err := daemon.LoadConfig(path)
		if err != nil {
			return cfg, err
		}
		cfg = *c
	}
	for flag, field := range map[string]*string{
		"address": &cfg.Address, "group": &cfg.Group, "root": &cfg.Root, "state": &cfg.State,
		"cgroup-parent": &cfg.CgroupParent, "init": &cfg.InitPath, "quilt-sh": &cfg.ShellPath,
		"log-level": &cfg.LogLevel, "log-format": &cfg.LogFormat,
	} {
		if cmd.IsSet(flag) {
			*field = cmd.String(flag)
		}
	}
	if cmd.Args().Present() {
		return cfg, errors.New("quiltd takes no arguments (see quiltd --help)")
	}
	return cfg, nil
}
