package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a container",
	ArgsUsage: "<container-id>",
	Description: `Limits come from flags, or from --resources FILE ("-" for stdin): a JSON
runtime-spec linux.resources object, as containerd and Docker send, e.g.
{"memory": {"limit": 134217728, "swap": 134217728}, "cpu": {"quota": 20000, "period": 100000}}.
Only the limits given change. Sizes take units (64m, 1g); -1 means unlimited.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "JSON file with linux.resources (- for stdin)"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (bytes, or with a unit)"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "cpu-shares", Aliases: []string{"cpu-share"}, Usage: "CPU shares (relative weight)"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU time (µs) per period"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period (µs)"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU burst (µs) per period"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period (µs)"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime (µs) per period"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "SCHED_IDLE for the cgroup (0 or 1, cgroup v2)"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs allowed (0-3, 0,1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes allowed"},
		&cli.IntFlag{Name: "pids-limit", Usage: "maximum number of processes (-1: unlimited)"},
		&cli.IntFlag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		id, err := containerID(cmd)
		if err != nil {
			return err
		}
		res, err := updateResources(cmd)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		rt, err := newRuntime(cmd)
		if err != nil {
			return err
		}
		return rt.Update(id, res)
	},
}

func updateResources(cmd *cli.Command) (*specs.LinuxResources, error) {
	if path := cmd.String("resources"); path != "" {
		var r io.Reader = os.Stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--resources: %w", err)
			}
			defer f.Close()
			r = f
		}
		var res specs.LinuxResources
		if err := json.NewDecoder(r).Decode(&res); err != nil {
			return nil, fmt.Errorf("--resources %s: %w", path, err)
		}
		return &res, nil
	}
	res := &specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}}
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"memory", &res.Memory.Limit}, {"memory-swap", &res.Memory.Swap}, {"memory-reservation", &res.Memory.Reservation}} {
		if v := cmd.String(f.name); v != "" {
			n, err := parseSize(v)
			if err != nil {
				return nil, fmt.Errorf("--%s %q: %w", f.name, v, err)
			}
			*f.dst = &n
		}
	}
	for _, f := range []struct {
		name string
		dst  **uint64
	}{{"cpu-shares", &res.CPU.Shares}, {"cpu-period", &res.CPU.Period}, {"cpu-burst", &res.CPU.Burst}, {"cpu-rt-period", &res.CPU.RealtimePeriod}} {
		if v := cmd.String(f.name); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("--%s %q: not a non-negative number", f.name, v)
			}
			*f.dst = &n
		}
	}
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"cpu-quota", &res.CPU.Quota}, {"cpu-rt-runtime", &res.CPU.RealtimeRuntime}, {"cpu-idle", &res.CPU.Idle}} {
		if v := cmd.String(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("--%s %q: not a number", f.name, v)
			}
			*f.dst = &n
		}
	}
	res.CPU.Cpus, res.CPU.Mems = cmd.String("cpuset-cpus"), cmd.String("cpuset-mems")
	if cmd.IsSet("pids-limit") {
		n := int64(cmd.Int("pids-limit"))
		res.Pids = &specs.LinuxPids{Limit: &n}
	}
	if cmd.IsSet("blkio-weight") {
		w := cmd.Int("blkio-weight")
		if w < 10 || w > 1000 {
			return nil, fmt.Errorf("--blkio-weight %d: want 10 to 1000", w)
		}
		weight := uint16(w)
		res.BlockIO = &specs.LinuxBlockIO{Weight: &weight}
	}
	return res, nil
}

// parseSize reads a byte count with an optional unit (64m, 1G); -1 means
// unlimited.
func parseSize(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	return units.RAMInBytes(s)
}
