//go:build linux

// Command daemon benchmarks quiltd through quiltctl against containerd
// (ctr) and podman, side by side on one busybox image: run of /bin/true,
// exec and logs latency, and the memory each adds per running container.
// See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	goruntime "runtime"
	"syscall"
	"time"

	"github.com/quilt-runtime/quilt/bench/internal/benchstat"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench/daemon [flags]\n\n")
		fs.PrintDefaults()
	}
	var o options
	fs.StringVar(&o.Bin, "bin", "bin", "`directory` of quiltd, quiltctl, quilt-init and quilt-sh (make build)")
	fs.StringVar(&o.Ctr, "ctr", "ctr", "ctr `binary`; empty leaves containerd out")
	fs.StringVar(&o.Containerd, "containerd", "containerd", "containerd `binary`, started privately when none answers at -containerd-address")
	fs.StringVar(&o.ContainerdAddress, "containerd-address", "/run/containerd/containerd.sock", "a running containerd's `socket`, used (namespace "+ctrNamespace+") when it answers")
	fs.StringVar(&o.Podman, "podman", "podman", "podman `binary`; empty leaves podman out")
	fs.IntVar(&o.Iterations, "n", 20, "measured `iterations` of run, exec and logs per tool")
	fs.IntVar(&o.Containers, "k", 10, "running `containers` per tool for the memory figures")
	fs.BoolVar(&o.JSON, "json", false, "write the report as JSON, with every sample")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "limit for one command")
	fs.StringVar(&o.Busybox, "busybox", "/bin/busybox", "static busybox `binary` for the image")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("argument %q: %w: the harness takes only flags", fs.Arg(0), ErrBadFlag)
	case o.Iterations < 1:
		return o, fmt.Errorf("-n %d: %w: need at least 1", o.Iterations, ErrBadFlag)
	case o.Containers < 1:
		return o, fmt.Errorf("-k %d: %w: need at least 1", o.Containers, ErrBadFlag)
	}
	return o, nil
}

// run benchmarks and reports. Whatever happens after setup starts, it
// cleans up before returning; SIGINT and SIGTERM stop the benchmark
// between commands, and the results gathered so far are still printed.
func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	host := hostInfo{Kernel: readFirst("/proc/sys/kernel/osrelease", 1), CPUs: goruntime.NumCPU(), Cgroup: benchstat.CgroupMode(),
		Go: goruntime.Version(), LoadStart: readFirst("/proc/loadavg", 3)}
	fmt.Fprintf(stderr, "setup: image, private quiltd, containerd, podman storage (load average %s)\n", host.LoadStart)
	b, err := newBench(o)
	if err == nil && ctx.Err() == nil {
		err = b.run(ctx, stderr)
	}
	host.LoadEnd = readFirst("/proc/loadavg", 3)
	if len(b.floorTimes) > 0 {
		host.GoFloor = benchstat.Summarize(b.floorTimes).Median
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bench: interrupted, cleaning up")
	}
	if cerr := b.cleanup(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cleanup: %w", cerr))
	}
	if len(b.res) == 0 || (err != nil && !errors.Is(err, ErrInterrupted)) {
		return err
	}
	rep := report{Host: host, Iterations: o.Iterations, Containers: o.Containers, Interrupted: errors.Is(err, ErrInterrupted), Metrics: metrics(b.res)}
	for _, t := range b.tools {
		var ti toolInfo
		if t != nil {
			ti = toolInfo{t.name, t.path, t.version, t.note}
		}
		rep.Tools = append(rep.Tools, ti)
	}
	rep.Targets = targets(rep.Metrics)
	write := writeTable
	if o.JSON {
		write = writeJSON
	}
	return errors.Join(err, write(stdout, rep))
}
