//go:build linux

// Command runtime benchmarks quilt against runc: `run` of /bin/true, the
// create/start/wait/delete lifecycle, batches of parallel runs and the
// runtimes' peak RSS, on one busybox bundle, with the two runtimes
// interleaved. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
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
	fs := flag.NewFlagSet("runtime", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench/runtime [flags]\n\n"+
			"Groups (for -filter): run, lifecycle, parallel/N.\n\n")
		fs.PrintDefaults()
	}
	var o options
	var filter, parallel string
	fs.StringVar(&o.Quilt, "quilt", "bin/quilt", "quilt `binary`")
	fs.StringVar(&o.Runc, "runc", "/usr/sbin/runc", "runc `binary` to compare against")
	fs.IntVar(&o.Iterations, "n", 40, "measured `iterations` per group; parallel/N runs min(n, max(5, 200/N)) batches")
	fs.StringVar(&filter, "filter", "", "run only the groups whose name matches this `regexp`")
	fs.StringVar(&parallel, "parallel", "1,10,50,100", "comma-separated batch `sizes` of the parallel groups")
	fs.BoolVar(&o.JSON, "json", false, "write the report as JSON, with every sample")
	fs.StringVar(&o.SpecFrom, "spec", "runc", "`runtime` (quilt or runc) whose `spec` output both runtimes' bundles use")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "limit for one runtime command or container exit")
	fs.StringVar(&o.Busybox, "busybox", "/bin/busybox", "static busybox `binary` for the rootfs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("argument %q: %w: the harness takes only flags", fs.Arg(0), ErrBadFlag)
	}
	if o.Iterations < 1 {
		return o, fmt.Errorf("-n %d: %w: need at least 1", o.Iterations, ErrBadFlag)
	}
	if o.SpecFrom != "quilt" && o.SpecFrom != "runc" {
		return o, fmt.Errorf("-spec %q: %w: want quilt or runc", o.SpecFrom, ErrBadFlag)
	}
	if filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil {
			return o, fmt.Errorf("-filter: %w: %w", ErrBadFlag, err)
		}
		o.Filter = re
	}
	sizes, err := parseSizes(parallel)
	if err != nil {
		return o, err
	}
	o.Parallel = sizes
	return o, nil
}

// parseSizes parses -parallel: positive integers separated by commas,
// returned sorted without duplicates; an empty string gives no parallel
// groups.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-parallel size %q: %w: want a positive integer", f, ErrBadFlag)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
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

	b, err := newBench(o, stderr)
	if err == nil {
		err = b.run(ctx)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bench: interrupted, cleaning up")
	}
	if cerr := b.cleanup(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cleanup: %w", cerr))
	}
	if len(b.res.list) == 0 || (err != nil && !errors.Is(err, ErrInterrupted)) {
		return err
	}
	rep := b.report(errors.Is(err, ErrInterrupted))
	werr := writeTable
	if o.JSON {
		werr = writeJSON
	}
	return errors.Join(err, werr(stdout, rep))
}

func (b *bench) report(interrupted bool) report {
	rep := report{
		Host: hostInfo{
			Kernel: kernelRelease(),
			CPUs:   goruntime.NumCPU(),
			Cgroup: benchstat.CgroupMode(),
			Go:     goruntime.Version(),
		},
		Runtimes:    map[string]runtimeInfo{},
		Iterations:  b.opts.Iterations,
		Spec:        b.specNote,
		Interrupted: interrupted,
		Metrics:     metrics(b.res),
	}
	for _, rt := range b.rts {
		rep.Runtimes[rt.name] = runtimeInfo{Path: rt.path, Version: rt.version}
	}
	return rep
}
