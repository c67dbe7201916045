package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	Timeout           time.Duration // limit for one command
	Busybox           string        // static busybox for the image
}

// bench owns the temp directory, the daemons it started, the tools and
// the results.
type bench struct {
	opts       options
	dir        string
	cgroup     string // "/quilt-bench-PID": cgroup parent of quiltd's and podman's containers
	image      string // the docker-save archive every tool imports
	quiltSock  string // quiltd's API socket
	tools      [nTools]*tool
	quiltd     *daemonProc
	containerd *daemonProc // nil when an already running containerd is used
	absentDirs []string
	res        results
	seq        int // makes ctr container and exec ids unique
	// floor is a static Go program that only exits, timed beside
	// quiltctl's start: no Go client can start faster on this host.
	floor      *tool
	floorTimes []float64
}

// Containers the harness names.
const (
	execName = "bench-exec" // long-running: exec and logs target it
	memName  = "bench-mem-" // + index: the memory figures
	logLines = 5            // lines execName prints before it sleeps
)

// newBench writes the image and sets up the tools: a private quiltd, a
// containerd and podman's storage, each holding the image. On error the
// caller still calls cleanup.
func newBench(o options) (*bench, error) {
	b := &bench{opts: o, cgroup: "/quilt-bench-" + strconv.Itoa(os.Getpid())}
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
	if err := b.setupQuilt(); err != nil {
		return b, err
	}
	b.floor = buildFloor(dir, o.Timeout) // nil without a Go toolchain
	if o.Ctr != "" {
		if err := b.setupCtr(); err != nil {
			return b, err
		}
	}
	if o.Podman != "" {
		return b, b.setupPodman()
	}
	return b, nil
}

// run measures run of /bin/true, exec and logs on a running container,
// then the memory of running containers, and reports progress.
func (b *bench) run(ctx context.Context, progress io.Writer) error {
	phases := []struct {
		name string
		fn   func(context.Context) error
	}{{"start", b.startPhase}, {"run", b.runPhase}, {"exec, logs", b.execPhase}, {"memory", b.memPhase}}
	for i, p := range phases {
		fmt.Fprintf(progress, "[%d/%d] %s ... ", i+1, len(phases), p.name)
		start := time.Now()
		err := p.fn(ctx)
		fmt.Fprintf(progress, "%.1fs\n", time.Since(start).Seconds())
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// interleave calls step for each tool in turn, in an untimed warm-up
// round and then rounds measured ones, the tool that goes first rotating
// (quiltctl, ctr, podman; ctr, podman, quiltctl; ...), so that a drift of
// the machine's load and warm caches favour none. step returns the time
// of a metric named name, or 0 for no sample.
func (b *bench) interleave(ctx context.Context, name string, rounds int, step func(k int) (time.Duration, error)) error {
	for i := -1; i < rounds; i++ {
		for j := range nTools {
			k := (j + max(i, 0)) % nTools
			if b.tools[k] == nil {
				continue
			}
			if ctx.Err() != nil {
				return ErrInterrupted
			}
			took, err := step(k)
			if err != nil {
				return err
			}
			if i >= 0 && took > 0 {
				b.res.add(name, unitNanos, k, float64(took))
			}
		}
	}
	return nil
}

func (b *bench) nextID(prefix string) string {
	b.seq++
	return prefix + strconv.Itoa(b.seq)
}

// runArgs are the arguments that run cmd in a new container: removed at
// its end in the foreground, or detached when name is set.
func (b *bench) runArgs(k int, name string, cmd ...string) []string {
	var args []string
	switch k {
	case quiltIdx:
		// network none, as podman's below and ctr's default (a network
		// namespace with loopback only); bench/network measures bridges.
		args = []string{"run", "--rm", "--network", "none", imageRef, "--"}
		if name != "" {
			args = []string{"run", "-d", "--network", "none", "--name", name, imageRef, "--"}
		}
	case ctrIdx:
		args = []string{"run", "--rm", imageRef, b.nextID("bench-run-")}
		if name != "" { // a detached task leaves its fifos behind
			args = []string{"run", "-d", "--fifo-dir", filepath.Join(b.dir, "fifo"), imageRef, name}
		}
	case podmanIdx:
		args = []string{"run", "--rm", "--network=none", "--cgroup-parent", b.cgroup + "/podman", imageRef}
		if name != "" {
			args = []string{"run", "-d", "--name", name, "--network=none", "--cgroup-parent", b.cgroup + "/podman", imageRef}
		}
	}
	return append(args, cmd...)
}

// startPhase times each client's start alone: `--version`, which
// contacts no daemon; and, after quiltctl's, the Go floor.
func (b *bench) startPhase(ctx context.Context) error {
	return b.interleave(ctx, "client start", b.opts.Iterations, func(k int) (time.Duration, error) {
		_, took, err := b.tools[k].do("--version")
		if err == nil && k == quiltIdx && b.floor != nil {
			if _, f, ferr := b.floor.do(); ferr == nil {
				b.floorTimes = append(b.floorTimes, float64(f))
			}
		}
		return took, err
	})
}

// buildFloor builds a static Go program that exits at once, as a tool, or
// returns nil when it cannot.
func buildFloor(dir string, timeout time.Duration) *tool {
	src := filepath.Join(dir, "floor.go")
	bin := filepath.Join(dir, "go-floor")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return nil
	}
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if err := cmd.Run(); err != nil {
		return nil
	}
	t, err := newTool("go-floor", bin, dir, timeout)
	if err != nil {
		return nil
	}
	return t
}

// runPhase times a foreground run of /bin/true that removes its
// container: `quiltctl run --rm`, `ctr run --rm`, `podman run --rm
// --network=none`.
func (b *bench) runPhase(ctx context.Context) error {
	return b.interleave(ctx, "run", b.opts.Iterations, func(k int) (time.Duration, error) {
		_, took, err := b.tools[k].do(b.runArgs(k, "", "/bin/true")...)
		return took, err
	})
}

// execPhase starts one container per tool that prints a few lines and
// sleeps, then times exec of /bin/true in it, and logs of it (ctr has no
// logs command); then the same two through quiltd's API (apiPhase).
func (b *bench) execPhase(ctx context.Context) error {
	script := fmt.Sprintf("for i in $(seq %d); do echo line $i; done; exec sleep 100000", logLines)
	logs := func(k int) (time.Duration, error) {
		out, took, err := b.tools[k].do("logs", execName)
		if err == nil && strings.Count(out, "line ") != logLines {
			err = fmt.Errorf("%s logs %s: %w: %q, want %d lines", b.tools[k].name, execName, ErrOutput, out, logLines)
		}
		return took, err
	}
	for k, t := range b.tools {
		if t == nil {
			continue
		}
		if _, _, err := t.do(b.runArgs(k, execName, "sh", "-c", script)...); err != nil {
			return err
		}
		if k == ctrIdx {
			continue
		}
		_, err := logs(k) // until the lines are there
		for deadline := time.Now().Add(10 * time.Second); err != nil && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			_, err = logs(k)
		}
		if err != nil {
			return err
		}
	}
	err := b.interleave(ctx, "exec", b.opts.Iterations, func(k int) (time.Duration, error) {
		args := []string{"exec", execName, "/bin/true"}
		if k == ctrIdx {
			args = []string{"task", "exec", "--exec-id", b.nextID("exec-"), execName, "/bin/true"}
		}
		_, took, err := b.tools[k].do(args...)
		return took, err
	})
	if err != nil {
		return err
	}
	err = b.interleave(ctx, "logs", b.opts.Iterations, func(k int) (time.Duration, error) {
		if k == ctrIdx {
			return 0, nil
		}
		return logs(k)
	})
	if err != nil {
		return err
	}
	return b.apiPhase(ctx)
}

// memPhase starts -k containers running sleep per tool (interleaved), lets
// them settle, and records the USS and PSS of the process each tool added
// for each container besides the container's command: quilt-init, the
// containerd shim, conmon.
func (b *bench) memPhase(ctx context.Context) error {
	var started [nTools]int
	err := b.interleave(ctx, "", b.opts.Containers-1, func(k int) (time.Duration, error) {
		started[k]++
		_, _, err := b.tools[k].do(b.runArgs(k, memName+strconv.Itoa(started[k]), "sleep", "100000")...)
		return 0, err
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
	}
	return nil
}

// monitors are the command names of the process each tool adds per
// container: quilt-init (mounted at /dev/.quilt-init), the containerd
// shim (a comm is cut at 15 bytes) and conmon.
var monitors = [nTools]string{quiltIdx: ".quilt-init", ctrIdx: "containerd-shim", podmanIdx: "conmon"}

// monitor returns the pid of the process tool k added for container name:
// quiltd's container init, the parent of containerd's task, podman's
// conmon.
func (b *bench) monitor(k int, name string) (int, error) {
	t := b.tools[k]
	args := map[int][]string{quiltIdx: {"inspect", name}, ctrIdx: {"task", "ls"}, podmanIdx: {"inspect", "-f", "{{.State.ConmonPid}}", name}}[k]
	out, _, err := t.do(args...)
	var pid int
	switch {
	case err != nil:
	case k == quiltIdx:
		var c []struct{ Pid int }
		if err = json.Unmarshal([]byte(out), &c); err == nil && len(c) == 1 {
			pid = c[0].Pid
		}
	case k == ctrIdx:
		if pid, err = taskPid(out, name); err == nil {
			_, pid, err = procStat(pid)
		}
	default:
		pid, err = strconv.Atoi(strings.TrimSpace(out))
	}
	comm := ""
	if err == nil {
		comm, _, err = procStat(pid)
	}
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
