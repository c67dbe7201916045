//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// options configure one benchmark run; parseFlags fills them.
type options struct {
	Quilt, Runc string         // runtime binaries
	Iterations  int            // measured iterations per group (-n)
	Filter      *regexp.Regexp // selects groups by name; nil selects all
	Parallel    []int          // batch sizes of the parallel groups
	JSON        bool           // machine-readable output
	SpecFrom    string         // whose `spec` output the bundles use: "quilt" or "runc"
	Timeout     time.Duration  // limit for one runtime command or container exit
	Busybox     string         // static busybox binary for the rootfs
}

// sample is one measured value of one metric.
type sample struct {
	name  string
	unit  unit
	value float64
}

// step measures one iteration of a group for one runtime. check asks for
// the extra correctness checks the untimed warm-up iteration makes.
type step func(rt *runtime, check bool) ([]sample, error)

// group is a named benchmark case, the unit -filter selects.
type group struct {
	name       string
	iterations int
	slots      int // container slots (bundles) it needs per runtime
	step       step
}

// bench owns the temp directory, the two runtimes and the results.
type bench struct {
	opts         options
	dir          string
	cgroupParent string
	rts          [2]*runtime // 0 quilt, 1 runc
	specNote     string
	res          *results
	progress     io.Writer
}

const (
	quiltIdx = 0
	runcIdx  = 1
)

// groups returns the benchmark groups the options select, in run order.
func (b *bench) groups() []group {
	all := []group{
		{name: "run", iterations: b.opts.Iterations, slots: 1, step: b.runStep},
		{name: "lifecycle", iterations: b.opts.Iterations, slots: 1, step: b.lifecycleStep},
	}
	for _, n := range b.opts.Parallel {
		all = append(all, group{
			name:       "parallel/" + strconv.Itoa(n),
			iterations: parallelIterations(b.opts.Iterations, n),
			slots:      n,
			step:       b.parallelStep(n),
		})
	}
	var sel []group
	for _, g := range all {
		if b.opts.Filter == nil || b.opts.Filter.MatchString(g.name) {
			sel = append(sel, g)
		}
	}
	return sel
}

// parallelIterations is the number of batches of n containers: about 200
// containers per runtime, at least 5 batches, at most -n.
func parallelIterations(n, batch int) int {
	return min(n, max(5, 200/batch))
}

// newBench prepares everything outside the measurements: the temp
// directory, the runtimes' state directories, the rootfs and the bundles.
// On error the caller still calls cleanup.
func newBench(o options, progress io.Writer) (*bench, error) {
	b := &bench{
		opts:         o,
		cgroupParent: cgroupPrefix + strconv.Itoa(os.Getpid()),
		res:          newResults(),
		progress:     progress,
	}
	if os.Geteuid() != 0 {
		return b, ErrNotRoot
	}
	dir, err := os.MkdirTemp("", "quilt-bench-")
	if err != nil {
		return b, fmt.Errorf("temp directory: %w", err)
	}
	b.dir = dir
	if err := becomeSubreaper(); err != nil {
		return b, err
	}
	for i, p := range [2][2]string{{"quilt", o.Quilt}, {"runc", o.Runc}} {
		rt, err := newRuntime(p[0], p[1], dir, o.Timeout)
		if err != nil {
			return b, err
		}
		if err := rt.readVersion(); err != nil {
			return b, err
		}
		b.rts[i] = rt
	}
	groups := b.groups()
	if len(groups) == 0 {
		return b, ErrNoCases
	}
	base, err := b.baseSpec()
	if err != nil {
		return b, err
	}
	rootfs := filepath.Join(dir, "rootfs")
	if err := buildRootfs(o.Busybox, rootfs); err != nil {
		return b, err
	}
	slots := 0
	for _, g := range groups {
		slots = max(slots, g.slots)
	}
	for _, rt := range b.rts {
		if err := writeBundles(rt, base, rootfs, b.cgroupParent, slots); err != nil {
			return b, err
		}
	}
	return b, nil
}

// baseSpec returns the `spec` output of the runtime -spec names, and notes
// whether the other runtime's default configuration is the same.
func (b *bench) baseSpec() ([]byte, error) {
	from, other := b.rts[runcIdx], b.rts[quiltIdx]
	if b.opts.SpecFrom == "quilt" {
		from, other = other, from
	}
	base, err := generateSpec(from, b.dir)
	if err != nil {
		return nil, err
	}
	b.specNote = fmt.Sprintf("config.json from `%s spec`", from.name)
	alt, err := generateSpec(other, b.dir)
	switch {
	case err != nil:
		b.specNote += fmt.Sprintf("; `%s spec` failed", other.name)
	default:
		diff, ok := specDiff(base, alt, 5)
		switch {
		case !ok:
			b.specNote += fmt.Sprintf("; `%s spec` is not a valid config", other.name)
		case len(diff) == 0:
			b.specNote += fmt.Sprintf("; `%s spec` is the same", other.name)
		default:
			b.specNote += fmt.Sprintf("; `%s spec` differs at %s", other.name, strings.Join(diff, " "))
		}
	}
	return base, nil
}

// run measures every selected group. Runtimes alternate inside each
// iteration, and the one that goes first alternates between iterations
// (quilt,runc, runc,quilt, ...), so that drift and warm caches favour
// neither. One untimed warm-up iteration, which also checks the
// runtimes' reported states, precedes each group.
func (b *bench) run(ctx context.Context) error {
	groups := b.groups()
	for gi, g := range groups {
		fmt.Fprintf(b.progress, "[%d/%d] %s: %d iterations ... ", gi+1, len(groups), g.name, g.iterations)
		start := time.Now()
		err := b.runGroup(ctx, g)
		fmt.Fprintf(b.progress, "%.1fs\n", time.Since(start).Seconds())
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) runGroup(ctx context.Context, g group) error {
	for i := -1; i < g.iterations; i++ {
		order := [2]int{quiltIdx, runcIdx}
		if i%2 == 1 {
			order = [2]int{runcIdx, quiltIdx}
		}
		for _, k := range order {
			if ctx.Err() != nil {
				return ErrInterrupted
			}
			samples, err := g.step(b.rts[k], i < 0)
			if err != nil {
				return fmt.Errorf("%s: %w", g.name, err)
			}
			if i < 0 {
				continue
			}
			for _, s := range samples {
				b.res.add(s.name, s.unit, k, s.value)
			}
		}
	}
	return nil
}

// runStep is `run` of /bin/true in the foreground: create, start, wait
// and delete in one command.
func (b *bench) runStep(rt *runtime, _ bool) ([]sample, error) {
	id := rt.id(0)
	rt.track(id)
	o, err := rt.do(nil, "run", "--bundle", rt.bundle(0), id)
	if err != nil {
		return nil, err
	}
	rt.untrack(id)
	return []sample{
		{"run", unitNanos, float64(o.took)},
		{"rss/run", unitKiB, float64(o.maxRSS)},
	}, nil
}

// lifecycleStep times create, start, the container's exit and delete
// separately. The exit is awaited on a pidfd of the container's init
// (from --pid-file), opened before start, so waiting costs no runtime
// command and both runtimes are timed the same way.
func (b *bench) lifecycleStep(rt *runtime, check bool) ([]sample, error) {
	id, pidFile := rt.id(0), rt.pidFile(0)
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("old pid file: %w", err)
	}
	rt.track(id)
	create, err := rt.do(nil, "create", "--bundle", rt.bundle(0), "--pid-file", pidFile, id)
	if err != nil {
		return nil, err
	}
	pid, err := readPid(pidFile)
	if err != nil {
		return nil, err
	}
	w, err := openExitWaiter(pid)
	if err != nil {
		return nil, err
	}
	defer w.close()
	if check {
		if err := expectStatus(rt, id, "created"); err != nil {
			return nil, err
		}
	}
	start, err := rt.do(nil, "start", id)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := w.wait(rt.timeout); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	wait := time.Since(t0)
	if check {
		if err := expectStatus(rt, id, "stopped"); err != nil {
			return nil, err
		}
	}
	del, err := rt.do(nil, "delete", id)
	if err != nil {
		return nil, err
	}
	rt.untrack(id)
	total := create.took + start.took + wait + del.took
	return []sample{
		{"lifecycle/create", unitNanos, float64(create.took)},
		{"lifecycle/start", unitNanos, float64(start.took)},
		{"lifecycle/wait", unitNanos, float64(wait)},
		{"lifecycle/delete", unitNanos, float64(del.took)},
		{"lifecycle/total", unitNanos, float64(total)},
		{"rss/create", unitKiB, float64(create.maxRSS)},
		{"rss/start", unitKiB, float64(start.maxRSS)},
		{"rss/delete", unitKiB, float64(del.maxRSS)},
	}, nil
}

// firstError returns the first non-nil error of errs, saying how many
// failed when more than one did.
func firstError(errs []error) error {
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if failed > 1 {
		return fmt.Errorf("%d of %d runs failed, first: %w", failed, len(errs), first)
	}
	return first
}

func expectStatus(rt *runtime, id, want string) error {
	got, err := rt.status(id)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s state %s: %w: %q, want %q", rt.name, id, ErrState, got, want)
	}
	return nil
}

// parallelStep starts n foreground `run`s at once (all goroutines wait on
// one gate) and records the batch's wall time and each run's latency.
func (b *bench) parallelStep(n int) step {
	prefix := "parallel/" + strconv.Itoa(n)
	return func(rt *runtime, _ bool) ([]sample, error) {
		took := make([]time.Duration, n)
		errs := make([]error, n)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			id := rt.id(i)
			rt.track(id)
			wg.Go(func() {
				<-gate
				o, err := rt.do(nil, "run", "--bundle", rt.bundle(i), id)
				if err == nil {
					rt.untrack(id)
				}
				took[i], errs[i] = o.took, err
			})
		}
		t0 := time.Now()
		close(gate)
		wg.Wait()
		wall := time.Since(t0)
		if err := firstError(errs); err != nil {
			return nil, err
		}
		samples := []sample{{prefix + "/batch", unitNanos, float64(wall)}}
		for _, d := range took {
			samples = append(samples, sample{prefix + "/each", unitNanos, float64(d)})
		}
		return samples, nil
	}
}

// cleanup force-deletes every container the runtimes may still hold,
// reaps orphaned inits, removes the private cgroup parent from every
// hierarchy and the temp directory. It runs after every run, failed or
// interrupted.
func (b *bench) cleanup() error {
	var errs []error
	for _, rt := range b.rts {
		if rt != nil {
			errs = append(errs, rt.deleteAll())
		}
	}
	reapOrphans()
	errs = append(errs, removeCgroupParent(b.cgroupParent))
	if b.dir != "" {
		if err := os.RemoveAll(b.dir); err != nil {
			errs = append(errs, fmt.Errorf("temp directory: %w", err))
		}
	}
	return errors.Join(errs...)
}
