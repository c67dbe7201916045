package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

// exitRuntimeFailure is exec's status when quilt itself fails, so that it
// cannot be confused with the status of the process.
const exitRuntimeFailure = 255

var execStopAfterID = 1

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process inside a container",
	ArgsUsage: "<container-id> <command> [args...]",
	Description: `Runs a process in a created or running container. In the foreground quilt
exits with the process's status: 127 when the command is not found, 126 when
it is not executable, 255 when quilt itself fails.`,
	StopOnNthArg: &execStopAfterID,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "JSON file with the process (a runtime-spec process object)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the process's pid to"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master (with --tty --detach)"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the process"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "add an environment variable (K=V)"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID] to run as"},
		&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional group id"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability to the bounding, effective and permitted sets"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many extra file descriptors (from fd 3)"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label of the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile of the process"},
		&cli.StringFlag{Name: "cgroup", Usage: "sub-cgroup to run in: PATH or CONTROLLER[,CONTROLLER]:PATH"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec into a paused container"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		status, err := execAction(cmd)
		if err != nil {
			var ee *libquilt.ExecError
			if errors.As(err, &ee) {
				return &codedError{code: ee.Code, err: err}
			}
			return &codedError{code: exitRuntimeFailure, err: err}
		}
		if status != 0 {
			return exitCode(status)
		}
		return nil
	},
}

func execAction(cmd *cli.Command) (int, error) {
	args := cmd.Args()
	id := args.First()
	if id == "" {
		return -1, fmt.Errorf("exec: %w (usage: quilt exec %s)", errNoID, cmd.ArgsUsage)
	}
	rt, err := newRuntime(cmd)
	if err != nil {
		return -1, err
	}
	p, err := execProcess(cmd, rt, id, args.Slice()[1:])
	if err != nil {
		return -1, err
	}
	return rt.Exec(libquilt.ExecOptions{
		ID:            id,
		Process:       p,
		Detach:        cmd.Bool("detach"),
		PidFile:       cmd.String("pid-file"),
		ConsoleSocket: cmd.String("console-socket"),
		PidfdSocket:   cmd.String("pidfd-socket"),
		PreserveFDs:   int(cmd.Int("preserve-fds")),
		Cgroup:        cmd.String("cgroup"),
		IgnorePaused:  cmd.Bool("ignore-paused"),
		Stdin:         os.Stdin,
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		LogLevel:      logrus.GetLevel(),
	})
}

// execProcess is the --process file, or the container's own process with
// the command and the flags applied.
func execProcess(cmd *cli.Command, rt *libquilt.Runtime, id string, argv []string) (*specs.Process, error) {
	if path := cmd.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("exec: --process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("exec: --process %s: %w", path, err)
		}
		return &p, nil
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("exec: no command given (usage: quilt exec %s)", cmd.ArgsUsage)
	}
	p, err := rt.ProcessSpec(id)
	if err != nil {
		return nil, err
	}
	p.Args = argv
	p.Terminal = cmd.Bool("tty")
	p.Env = append(append([]string(nil), p.Env...), cmd.StringSlice("env")...)
	if cwd := cmd.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if a := cmd.String("apparmor"); a != "" {
		p.ApparmorProfile = a
	}
	if l := cmd.String("process-label"); l != "" {
		p.SelinuxLabel = l
	}
	if cmd.IsSet("no-new-privs") {
		p.NoNewPrivileges = cmd.Bool("no-new-privs")
	}
	if caps := cmd.StringSlice("cap"); len(caps) > 0 {
		c := specs.LinuxCapabilities{}
		if p.Capabilities != nil {
			c = *p.Capabilities
		}
		c.Bounding = append(append([]string(nil), c.Bounding...), caps...)
		c.Effective = append(append([]string(nil), c.Effective...), caps...)
		c.Permitted = append(append([]string(nil), c.Permitted...), caps...)
		if c.Inheritable != nil {
			c.Ambient = append(append([]string(nil), c.Ambient...), caps...)
		}
		p.Capabilities = &c
	}
	if u := cmd.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		p.User.UID = uid
		if gid != nil {
			p.User.GID = *gid
		}
	}
	for _, g := range cmd.Int64Slice("additional-gids") {
		if g < 0 || g > 1<<32-1 {
			return nil, fmt.Errorf("exec: --additional-gids %d: not a valid group id", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	return p, nil
}

// parseUser reads "UID" or "UID:GID" (numbers).
func parseUser(s string) (uint32, *uint32, error) {
	us, gs, hasGID := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("exec: --user %q: uid must be a number", s)
	}
	if !hasGID {
		return uint32(uid), nil, nil
	}
	gid, err := strconv.ParseUint(gs, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("exec: --user %q: gid must be a number", s)
	}
	g := uint32(gid)
	return uint32(uid), &g, nil
}
