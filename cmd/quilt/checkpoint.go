package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt"
)

// criuFlags are the CRIU flags checkpoint and restore share.
func criuFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image-path", Usage: "directory for the CRIU image files (default: ./checkpoint)"},
		&cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's work files and logs"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "allow open TCP connections"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
		&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft, full, strict or ignore"},
		&cli.StringSliceFlag{Name: "empty-ns", Usage: "create this namespace empty instead of restoring it (network)"},
		&cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate memory images automatically"},
		&cli.BoolFlag{Name: "lazy-pages", Usage: "restore memory pages lazily with userfaultfd"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "LSM profile (TYPE:NAME) used to restore"},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "LSM mount context used to restore"},
	}
}

func checkpointOptions(cmd *cli.Command) libquilt.CheckpointOptions {
	return libquilt.CheckpointOptions{
		ImagePath: cmd.String("image-path"), WorkPath: cmd.String("work-path"), ParentPath: cmd.String("parent-path"),
		LeaveRunning: cmd.Bool("leave-running"), PreDump: cmd.Bool("pre-dump"),
		TCPEstablished: cmd.Bool("tcp-established"), TCPSkipInFlight: cmd.Bool("tcp-skip-in-flight"),
		LinkRemap: cmd.Bool("link-remap"), ExtUnixSk: cmd.Bool("ext-unix-sk"), ShellJob: cmd.Bool("shell-job"),
		FileLocks: cmd.Bool("file-locks"), AutoDedup: cmd.Bool("auto-dedup"), LazyPages: cmd.Bool("lazy-pages"),
		StatusFd: int(cmd.Int("status-fd")), PageServer: cmd.String("page-server"),
		ManageCgroupsMode: cmd.String("manage-cgroups-mode"), EmptyNs: cmd.StringSlice("empty-ns"),
		LsmProfile: cmd.String("lsm-profile"), LsmMountContext: cmd.String("lsm-mount-context"),
		CRIU: cmd.String("criu"),
	}
}

var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container with CRIU",
	ArgsUsage: "<container-id>",
	Description: `Dumps the container's processes into --image-path and, unless --leave-running,
removes it. quilt first runs "criu check": where CRIU does not work on the
host, it says so and the container keeps running.`,
	Flags: append(criuFlags(),
		&cli.StringFlag{Name: "parent-path", Usage: "directory of the previous images (pre-dump)"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the container running after the checkpoint"},
		&cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip in-flight TCP connections"},
		&cli.BoolFlag{Name: "link-remap", Usage: "link unlinked files back when possible"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "file descriptor CRIU writes \\0 to once lazy pages are ready"},
		&cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of a CRIU page server"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump memory only and leave the container running"},
	),
	Action: withContainer(func(cmd *cli.Command, rt *libquilt.Runtime, id string) error {
		return rt.Checkpoint(id, checkpointOptions(cmd))
	}),
}

var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a CRIU checkpoint",
	ArgsUsage: "<container-id>",
	Flags: append(criuFlags(),
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current directory)"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the init's pid to"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "accepted for runc compatibility"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE instead of pivot_root"},
	),
	Action: func(_ context.Context, cmd *cli.Command) error {
		opts, err := createOptions(cmd)
		if err != nil {
			return err
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		co := checkpointOptions(cmd)
		status, err := rt.Run(libquilt.RunOptions{CreateOptions: opts, Detach: cmd.Bool("detach"), Restore: &co})
		if err != nil {
			return err
		}
		if status != 0 {
			return exitCode(status)
		}
		return nil
	},
}
