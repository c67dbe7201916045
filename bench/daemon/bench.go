package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// options configure one benchmark run; parseFlags fills them.
type options struct {
	Bin               string // directory holding quiltd, quiltctl, quilt-init and quilt-sh
	Ctr, Podman       string // client binaries; empty leaves the tool out
	Containerd        string // containerd binary, for a private containerd
	ContainerdAddress string // a running containerd to use when it answers
	Iterations        int    // measured iterations of run, exec and logs (-n)
	Containers        int    // running containers per tool for the memory figures (-k)
	JSON              bool
	Timeout           time.Duration // limit for one command or a daemon's start
	Busybox           string        // static busybox for the image
}

// sample is one measured value of one metric.
type sample struct {
	name  string
	unit  unit
	value float64
}

// bench owns the temp directory, the daemons it started, the tools and
// the results.
type bench struct {
	opts       options
	dir        string
	cgroup     string // "/quilt-bench-PID": cgroup parent of quiltd's and podman's containers
	image      string // the docker-save archive every tool imports
	tools      [nTools]*tool
	quiltd     *daemonProc
	containerd *daemonProc // nil when an already running containerd is used
	absentDirs []string
	res        *results
	progress   io.Writer
	seq        int // makes ctr container and exec ids unique
}

// Containers the harness names.
const (
	execName = "bench-exec" // long-running: exec and logs target it
	memName  = "bench-mem-" // + index: the memory figures
	logLines = 5            // lines execName prints before it sleeps
)

// newBench writes the image and sets up the tools: a private quiltd,
// containerd and podman's storage, each holding the image. On error the
// caller still calls cleanup.
func newBench(o options, progress io.Writer) (*bench, error) {
	b := &bench{opts: o, cgroup: "/quilt-bench-" + strconv.Itoa(os.Getpid()), res: newResults(), progress: progress}
	if os.Geteuid() != 0 {
		return b, ErrNotRoot
	}
	b.absentDirs = absentDirs()
	dir, err := os.MkdirTemp("", "quilt-dbench-")
	if err != nil {
		return b, fmt.Errorf("temp directory: %w", err)
	}
	b.dir, b.image = dir, filepath.Join(dir, "busybox.tar")
	if err := writeImage(b.image, o.Busybox); err != nil {
		return b, err
	}
	setups := []func() error{b.setupQuilt}
	if o.Ctr != "" {
		setups = append(setups, b.setupCtr)
	}
	if o.Podman != "" {
		setups = append(setups, b.setupPodman)
	}
	for _, setup := range setups {
		if err := setup(); err != nil {
			return b, err
		}
	}
	return b, nil
}

// run measures every phase: run of /bin/true, exec and logs on a running
// container, then the memory of running containers.
func (b *bench) run(ctx context.Context) error {
	phases := []struct {
		name string
		fn   func(context.Context) error
	}{{"run", b.runPhase}, {"exec, logs", b.execPhase}, {"memory", b.memPhase}}
	for i, p := range phases {
		fmt.Fprintf(b.progress, "[%d/%d] %s ... ", i+1, len(phases), p.name)
		start := time.Now()
		err := p.fn(ctx)
		fmt.Fprintf(b.progress, "%.1fs\n", time.Since(start).Seconds())
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// interleave calls step for each tool in turn, an untimed warm-up round
// and then -n rounds, the tool that goes first rotating from round to
// round (quiltctl, ctr, podman; ctr, podman, quiltctl; ...), so that a
// drift of the machine's load and warm caches favour none.
func (b *bench) interleave(ctx context.Context, rounds int, step func(k int) ([]sample, error)) error {
	for i := -1; i < rounds; i++ {
		for j := range nTools {
			k := (j + max(i, 0)) % nTools
			if b.tools[k] == nil {
				continue
			}
			if ctx.Err() != nil {
				return ErrInterrupted
			}
			samples, err := step(k)
			if err != nil {
				return err
			}
			for _, s := range samples {
				if i >= 0 {
					b.res.add(s.name, s.unit, k, s.value)
				}
			}
		}
	}
	return nil
}

func (b *bench) nextID(prefix string) string {
	b.seq++
	return prefix + strconv.Itoa(b.seq)
}

// runPhase times a foreground run of /bin/true that removes its
// container: `quiltctl run --rm`, `ctr run --rm`, `podman run --rm
// --network=none`.
func (b *bench) runPhase(ctx context.Context) error {
	return b.interleave(ctx, b.opts.Iterations, func(k int) ([]sample, error) {
		var args []string
		switch k {
		case quiltIdx:
			args = []string{"run", "--rm", imageRef, "--", "/bin/true"}
		case ctrIdx:
			args = []string{"run", "--rm", imageRef, b.nextID("bench-run-"), "/bin/true"}
		case podmanIdx:
			args = []string{"run", "--rm", "--network=none", "--cgroup-parent", b.cgroup + "/podman", imageRef, "/bin/true"}
		}
		_, took, err := b.tools[k].do(args...)
		return []sample{{"run", unitNanos, float64(took)}}, err
	})
}

// detach starts a container named name running cmd in the background.
func (b *bench) detach(k int, name string, cmd ...string) error {
	var args []string
	switch k {
	case quiltIdx:
		args = append([]string{"run", "-d", "--name", name, imageRef, "--"}, cmd...)
	case ctrIdx:
		// A detached task leaves its stdio fifos behind: keep them in
		// the harness's directory.
		args = append([]string{"run", "-d", "--fifo-dir", filepath.Join(b.dir, "fifo"), imageRef, name}, cmd...)
	case podmanIdx:
		args = append([]string{"run", "-d", "--name", name, "--network=none", "--cgroup-parent", b.cgroup + "/podman", imageRef}, cmd...)
	}
	_, _, err := b.tools[k].do(args...)
	return err
}

// execPhase starts one container per tool that prints a few lines and
// sleeps, then times exec of /bin/true in it, and logs of it (ctr has no
// logs command).
func (b *bench) execPhase(ctx context.Context) error {
	script := fmt.Sprintf("for i in $(seq %d); do echo line $i; done; exec sleep 100000", logLines)
	for k, t := range b.tools {
		if t == nil {
			continue
		}
		if err := b.detach(k, execName, "sh", "-c", script); err != nil {
			return err
		}
		if k == ctrIdx {
			continue
		}
		deadline := time.Now().Add(b.opts.Timeout)
		for out, _, err := t.do("logs", execName); strings.Count(out, "line ") < logLines; out, _, err = t.do("logs", execName) {
			if err != nil || time.Now().After(deadline) {
				return fmt.Errorf("%s logs %s: %w: %q %v", t.name, execName, ErrNotReady, out, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	err := b.interleave(ctx, b.opts.Iterations, func(k int) ([]sample, error) {
		args := []string{"exec", execName, "/bin/true"}
		if k == ctrIdx {
			args = []string{"task", "exec", "--exec-id", b.nextID("exec-"), execName, "/bin/true"}
		}
		_, took, err := b.tools[k].do(args...)
		return []sample{{"exec", unitNanos, float64(took)}}, err
	})
	if err != nil {
		return err
	}
	return b.interleave(ctx, b.opts.Iterations, func(k int) ([]sample, error) {
		if k == ctrIdx {
			return nil, nil
		}
		out, took, err := b.tools[k].do("logs", execName)
		if err == nil && strings.Count(out, "line ") != logLines {
			err = fmt.Errorf("%s logs %s: %w: %q, want %d lines", b.tools[k].name, execName, ErrOutput, out, logLines)
		}
		return []sample{{"logs", unitNanos, float64(took)}}, err
	})
}

// memPhase starts -k containers running sleep per tool (interleaved), lets
// them settle, and records the USS and PSS of the process each tool added
// for each container besides the container's command: quilt-init, the
// containerd shim, conmon. It also records how much the daemon (quiltd, a
// private containerd) grew per container.
func (b *bench) memPhase(ctx context.Context) error {
	daemons := [nTools]*daemonProc{quiltIdx: b.quiltd, ctrIdx: b.containerd}
	var before [nTools]memUsage
	for k, d := range daemons {
		if d != nil && b.tools[k] != nil {
			before[k], _ = readMem(d.cmd.Process.Pid)
		}
	}
	var started [nTools]int
	err := b.interleave(ctx, b.opts.Containers-1, func(k int) ([]sample, error) {
		started[k]++
		return nil, b.detach(k, memName+strconv.Itoa(started[k]), "sleep", "100000")
	})
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the new processes finish starting up
	for k, t := range b.tools {
		for i := 1; t != nil && i <= b.opts.Containers; i++ {
			pid, err := b.monitor(k, memName+strconv.Itoa(i))
			if err != nil {
				return err
			}
			m, err := readMem(pid)
			if err != nil {
				return err
			}
			b.res.add("memory/USS", unitKiB, k, float64(m.USS))
			b.res.add("memory/PSS", unitKiB, k, float64(m.PSS))
		}
		if d := daemons[k]; d != nil && t != nil {
			after, err := readMem(d.cmd.Process.Pid)
			if err != nil {
				return err
			}
			b.res.add("memory/daemon USS", unitKiB, k, float64(after.USS-before[k].USS)/float64(b.opts.Containers))
		}
	}
	return nil
}

// monitors are the command names of the process each tool adds per
// container: quilt-init (mounted at /dev/.quilt-init), the containerd
// shim (a comm is cut at 15 bytes) and conmon.
var monitors = [nTools]string{quiltIdx: ".quilt-init", ctrIdx: "containerd-shim", podmanIdx: "conmon"}

// monitor returns the pid of the process tool k added for container name.
func (b *bench) monitor(k int, name string) (int, error) {
	t := b.tools[k]
	var pid int
	var err error
	switch k {
	case quiltIdx: // the container's init is quilt-init
		var out string
		if out, _, err = t.do("inspect", name); err == nil {
			var c []struct{ Pid int }
			if err = json.Unmarshal([]byte(out), &c); err == nil && len(c) == 1 {
				pid = c[0].Pid
			}
		}
	case ctrIdx: // the shim is the parent of the task's init
		var out string
		if out, _, err = t.do("task", "ls"); err == nil {
			pid, err = taskPid(out, name)
		}
		if err == nil {
			_, pid, err = procStat(pid)
		}
	case podmanIdx:
		var out string
		if out, _, err = t.do("inspect", "-f", "{{.State.ConmonPid}}", name); err == nil {
			pid, err = strconv.Atoi(strings.TrimSpace(out))
		}
	}
	if err != nil {
		return 0, fmt.Errorf("%s container %s: %w", t.name, name, err)
	}
	comm, _, err := procStat(pid)
	if err != nil || comm != monitors[k] {
		return 0, fmt.Errorf("%s container %s: %w: process %d is %q, want %q (%v)", t.name, name, ErrOutput, pid, comm, monitors[k], err)
	}
	return pid, nil
}

// taskPid returns the pid `ctr task ls` shows for task id.
func taskPid(list, id string) (int, error) {
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			if pid, err := strconv.Atoi(f[1]); err == nil && pid > 0 {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("task %s: %w: not in `ctr task ls`", id, ErrOutput)
}
