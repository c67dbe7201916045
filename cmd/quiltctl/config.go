package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// containerFlags are the flags of run and create that describe the
// container, with docker's names.
func containerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "name", Usage: "name of the container (generated when not set)"},
		&cli.StringFlag{Name: "image-path", TakesFile: true, Usage: "image file or directory on this host, instead of IMAGE; quiltd imports it the first time it is used"},
		&cli.StringFlag{Name: "sh", Usage: `run this command line with /bin/sh -c ("a; b | c") instead of a command`},
		&cli.StringFlag{Name: "entrypoint", Usage: `replace the image's entrypoint ("" clears it)`},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable: KEY=VALUE, or KEY for quiltctl's own value"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory in the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID] or NAME[:GROUP] to run as"},
		&cli.StringFlag{Name: "hostname", Usage: "the container's hostname"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label: KEY=VALUE"},
		&cli.StringFlag{Name: "memory-limit", Aliases: []string{"m", "memory"}, Usage: "memory limit: MiB, or a size with a unit (512M, 1.5G, 64MiB)"},
		&cli.StringFlag{Name: "memory-swap", Usage: "limit of memory plus swap (same syntax), -1 for unlimited swap"},
		&cli.StringFlag{Name: "cpus", Usage: "number of CPUs (1.5)"},
		&cli.Uint64Flag{Name: "cpu-shares", Usage: "relative CPU weight (2-262144)"},
		&cli.Int64Flag{Name: "pids-limit", Usage: "maximum number of processes (-1: unlimited)"},
		&cli.BoolFlag{Name: "read-only", Usage: "mount the root filesystem read-only"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind mount a host path: SRC:DST[:ro]"},
		&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a tmpfs: DST[:OPTIONS]"},
		&cli.StringSliceFlag{Name: "mount", Usage: "add a mount: type=bind|tmpfs,source=SRC,destination=DST[,readonly]"},
		&cli.StringFlag{Name: "network", Aliases: []string{"net"}, Usage: "network: bridge (quiltd's default network), none (loopback only), host, or a network made with quiltctl network create"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a port on the host: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]"},
		&cli.BoolFlag{Name: "rm", Usage: "remove the container when it exits"},
	}
}

// createRequest builds the request of run and create from their flags and
// arguments: [IMAGE] [COMMAND [ARG...]]. It also returns the absolute
// --image-path, which quiltd is asked to import when it does not know the
// image yet.
func createRequest(cmd *cli.Command) (*quiltv1.CreateRequest, string, error) {
	args := cmd.Args().Slice()
	cfg := &quiltv1.ContainerConfig{
		Name:       cmd.String("name"),
		Workdir:    cmd.String("workdir"),
		User:       cmd.String("user"),
		Hostname:   cmd.String("hostname"),
		ReadOnly:   cmd.Bool("read-only"),
		AutoRemove: cmd.Bool("rm"),
	}
	imagePath := cmd.String("image-path")
	if imagePath != "" {
		abs, err := filepath.Abs(imagePath)
		if err != nil {
			return nil, "", fmt.Errorf("--image-path %s: %w", imagePath, err)
		}
		imagePath, cfg.Image = abs, abs
	} else {
		if len(args) == 0 || args[0] == "" {
			return nil, "", errNoImage
		}
		cfg.Image, args = args[0], args[1:]
	}
	// A command is argv as given, even a single argument that looks like a
	// shell command line: --sh says so explicitly.
	if cmd.IsSet("sh") {
		if len(args) > 0 {
			return nil, "", fmt.Errorf("--sh and the command %q: give one of them", args)
		}
		if strings.TrimSpace(cmd.String("sh")) == "" {
			return nil, "", fmt.Errorf("--sh: %w", errNoCommand)
		}
		cfg.Shell = cmd.String("sh")
	} else {
		cfg.Args = args
	}
	if cmd.IsSet("entrypoint") {
		if ep := cmd.String("entrypoint"); ep != "" {
			cfg.Entrypoint = []string{ep}
		} else {
			cfg.ClearEntrypoint = true
		}
	}
	var err error
	if cfg.Env, err = envList(cmd.StringSlice("env")); err != nil {
		return nil, "", err
	}
	if cfg.Labels, err = labelMap(cmd.StringSlice("label")); err != nil {
		return nil, "", err
	}
	if cfg.Resources, err = resources(cmd); err != nil {
		return nil, "", err
	}
	if cfg.Mounts, err = mounts(cmd); err != nil {
		return nil, "", err
	}
	if err := checkNetwork(cmd.String("network")); err != nil {
		return nil, "", fmt.Errorf("--network %w", err)
	}
	cfg.Network = cmd.String("network")
	for _, spec := range cmd.StringSlice("publish") {
		p, err := parsePublish(spec)
		if err != nil {
			return nil, "", fmt.Errorf("--publish %w", err)
		}
		cfg.Ports = append(cfg.Ports, p)
	}
	return &quiltv1.CreateRequest{Config: cfg}, imagePath, nil
}

// envList reads -e values: KEY=VALUE, or KEY alone for quiltctl's own
// value (left out when quiltctl has none).
func envList(vals []string) ([]string, error) {
	var env []string
	for _, e := range vals {
		key, _, hasVal := strings.Cut(e, "=")
		if key == "" {
			return nil, fmt.Errorf("--env %q: missing variable name", e)
		}
		if !hasVal {
			v, ok := os.LookupEnv(key)
			if !ok {
				continue
			}
			e = key + "=" + v
		}
		env = append(env, e)
	}
	return env, nil
}

// labelMap reads -l values: KEY=VALUE, or KEY for an empty value.
func labelMap(vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	labels := make(map[string]string, len(vals))
	for _, l := range vals {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("--label %q: missing key", l)
		}
		labels[k] = v
	}
	return labels, nil
}

// resources reads the limit flags; nil when none is set.
func resources(cmd *cli.Command) (*quiltv1.Resources, error) {
	r := &quiltv1.Resources{}
	set := false
	if s := cmd.String("memory-limit"); cmd.IsSet("memory-limit") {
		n, err := parseSize(s, mib)
		if err != nil {
			return nil, fmt.Errorf("--memory-limit %q: %w", s, err)
		}
		r.Memory, set = n, true
	}
	if s := cmd.String("memory-swap"); cmd.IsSet("memory-swap") {
		n := int64(-1)
		if strings.TrimSpace(s) != "-1" {
			var err error
			if n, err = parseSize(s, mib); err != nil {
				return nil, fmt.Errorf("--memory-swap %q: %w", s, err)
			}
		}
		r.MemorySwap, set = n, true
	}
	if s := cmd.String("cpus"); cmd.IsSet("cpus") {
		quota, err := parseCPUs(s)
		if err != nil {
			return nil, fmt.Errorf("--cpus %q: %w", s, err)
		}
		r.CpuQuota, r.CpuPeriod, set = quota, cpuPeriod, true
	}
	if cmd.IsSet("cpu-shares") {
		n := cmd.Uint64("cpu-shares")
		if n < 2 || n > 262144 {
			return nil, fmt.Errorf("--cpu-shares %d: out of range (2-262144)", n)
		}
		r.CpuShares, set = n, true
	}
	if cmd.IsSet("pids-limit") {
		n := cmd.Int64("pids-limit")
		if n < -1 {
			return nil, fmt.Errorf("--pids-limit %d: want a positive number, or -1 for no limit", n)
		}
		r.PidsLimit, set = max(n, 0), true
	}
	if !set {
		return nil, nil
	}
	return r, nil
}

// mounts reads -v, --tmpfs and --mount, in that order.
func mounts(cmd *cli.Command) ([]*quiltv1.Mount, error) {
	var ms []*quiltv1.Mount
	for _, p := range []struct {
		flag  string
		parse func(string) (*quiltv1.Mount, error)
	}{{"volume", parseVolume}, {"tmpfs", parseTmpfs}, {"mount", parseMount}} {
		for _, spec := range cmd.StringSlice(p.flag) {
			m, err := p.parse(spec)
			if err != nil {
				return nil, fmt.Errorf("--%s %w", p.flag, err)
			}
			ms = append(ms, m)
		}
	}
	return ms, nil
}
