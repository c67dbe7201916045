package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// daemon is a quiltd started by a test, with its private socket, root,
// state and cgroup parent, and clients of its API.
type daemon struct {
	t            *testing.T
	dir          string
	addr         string
	root, state  string
	cgroupParent string
	net          testNet
	cmd          *exec.Cmd
	dlog         *bytes.Buffer
	conn         *grpc.ClientConn
	sys          quiltv1grpc.SystemClient
	images       quiltv1grpc.ImagesClient
	ctrs         quiltv1grpc.ContainersClient
	nets         quiltv1grpc.NetworksClient
}

var daemonSeq atomic.Int32

// startDaemon starts quiltd and registers its cleanup: every container
// removed, the daemon stopped, its cgroup parent and directories gone.
func startDaemon(t *testing.T) *daemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if setupErr != nil {
		t.Fatalf("setup: %v", setupErr)
	}
	dir, err := os.MkdirTemp("", "qd-")
	if err != nil {
		t.Fatal(err)
	}
	seq := daemonSeq.Add(1)
	d := &daemon{
		t: t, dir: dir, addr: filepath.Join(dir, "quiltd.sock"),
		root: filepath.Join(dir, "root"), state: filepath.Join(dir, "state"),
		cgroupParent: fmt.Sprintf("quilt-it-%s-%d", runID, seq),
	}
	t.Cleanup(d.cleanup)
	d.net = newTestNet(t, dir, seq)
	d.start()
	return d
}

// start runs quiltd and waits until it answers.
func (d *daemon) start() {
	t := d.t
	t.Helper()
	d.dlog = &bytes.Buffer{}
	d.cmd = exec.Command(filepath.Join(binDir, "quiltd"),
		"--address", d.addr, "--root", d.root, "--state", d.state,
		"--cgroup-parent", d.cgroupParent, "--init", filepath.Join(binDir, "quilt-init"),
		"--quilt-sh", filepath.Join(binDir, "quilt-sh"), "--log-level", "debug", "--config", d.net.config)
	d.cmd.Stdout, d.cmd.Stderr = d.dlog, d.dlog
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start quiltd: %v", err)
	}
	conn, err := grpc.NewClient("unix://"+d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	d.conn = conn
	d.sys, d.images, d.ctrs = quiltv1grpc.NewSystemClient(conn), quiltv1grpc.NewImagesClient(conn), quiltv1grpc.NewContainersClient(conn)
	d.nets = quiltv1grpc.NewNetworksClient(conn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.sys.Health(ctx, &quiltv1.HealthRequest{})
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || d.cmd.ProcessState != nil {
			t.Fatalf("quiltd does not answer: %v\n%s", err, d.dlog)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends quiltd with sig and waits for it.
func (d *daemon) stop(sig syscall.Signal) {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
		d.t.Errorf("quiltd did not exit after %v", sig)
	}
	d.conn.Close()
	d.cmd = nil
}

func (d *daemon) cleanup() {
	t := d.t
	if d.cmd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if list, err := d.ctrs.List(ctx, &quiltv1.ListRequest{All: true}); err == nil {
			for _, c := range list.Containers {
				if _, err := d.ctrs.Remove(ctx, &quiltv1.RemoveRequest{Id: c.Id, Force: true}); err != nil {
					t.Errorf("cleanup: remove %s: %v", c.Name, err)
				}
			}
		}
		d.removeNetworks(ctx)
		cancel()
		d.stop(syscall.SIGTERM)
	}
	d.net.cleanup(t, d.root)
	if t.Failed() && d.dlog != nil {
		t.Logf("quiltd log, warnings and errors:\n%s\nquiltd log, the end:\n%s", problems(d.dlog.String()), tail(d.dlog.String(), 60))
	}
	// Whatever is left is a leak the test reports, then removes.
	if mounts := mountsUnder(d.dir); len(mounts) > 0 {
		t.Errorf("mounts left under %s: %v", d.dir, mounts)
		for i := len(mounts) - 1; i >= 0; i-- {
			_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
		}
	}
	for _, cg := range cgroupDirs(d.cgroupParent) {
		entries, _ := os.ReadDir(cg)
		for _, e := range entries {
			if e.IsDir() {
				t.Errorf("cgroup left: %s/%s", cg, e.Name())
				killCgroup(filepath.Join(cg, e.Name()))
				_ = os.Remove(filepath.Join(cg, e.Name()))
			}
		}
		_ = os.Remove(cg)
	}
	_ = os.RemoveAll(d.dir)
}

// cgroupDirs lists the directories of a cgroup parent in every hierarchy.
func cgroupDirs(parent string) []string {
	var out []string
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	out = append(out, matches...)
	if _, err := os.Stat("/sys/fs/cgroup/" + parent); err == nil {
		out = append(out, "/sys/fs/cgroup/"+parent)
	}
	return out
}

func killCgroup(dir string) {
	data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(data)) {
		var pid int
		fmt.Sscan(f, &pid)
		if pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// mountsUnder lists the mount points below dir, in mount order.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}

// problems returns the log's warning and error lines.
func problems(log string) string {
	var out []string
	for l := range strings.Lines(log) {
		if strings.Contains(l, "level=warning") || strings.Contains(l, "level=error") {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return strings.Join(out, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// run runs a container to its end through the Run RPC and returns its
// output (stdout then stderr separately) and exit status.
type runResult struct {
	id             string
	stdout, stderr string
	exit           *quiltv1.WaitResponse
}

func (d *daemon) run(t *testing.T, cfg *quiltv1.ContainerConfig) runResult {
	t.Helper()
	stream, err := d.ctrs.Run(ctx(t), createRequest(cfg))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var r runResult
	var out, errOut strings.Builder
	for {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("run %v: %v", cfg.Args, err)
		}
		switch k := msg.Kind.(type) {
		case *quiltv1.RunResponse_Created:
			r.id = k.Created.Id
		case *quiltv1.RunResponse_Output:
			if k.Output.Stream == quiltv1.Stream_STREAM_STDERR {
				errOut.Write(k.Output.Data)
			} else {
				out.Write(k.Output.Data)
			}
		case *quiltv1.RunResponse_Exit:
			r.stdout, r.stderr, r.exit = out.String(), errOut.String(), k.Exit
			// The exit comes before the clean-up of the container's
			// cgroups and network; inspect waits for it.
			if !cfg.AutoRemove {
				if _, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: r.id}); err != nil {
					t.Fatalf("inspect after run: %v", err)
				}
			}
			return r
		}
	}
}

// create makes a container and returns it.
func (d *daemon) create(t *testing.T, cfg *quiltv1.ContainerConfig) *quiltv1.Container {
	t.Helper()
	c, err := d.ctrs.Create(ctx(t), createRequest(cfg))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return c
}

// runDetached creates and starts a container.
func (d *daemon) runDetached(t *testing.T, cfg *quiltv1.ContainerConfig) *quiltv1.Container {
	t.Helper()
	c := d.create(t, cfg)
	if _, err := d.ctrs.Start(ctx(t), &quiltv1.StartRequest{Id: c.Id}); err != nil {
		t.Fatalf("start: %v", err)
	}
	return c
}

// logs reads a container's whole log.
func (d *daemon) logs(t *testing.T, req *quiltv1.LogsRequest) string {
	t.Helper()
	stream, err := d.ctrs.Logs(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		e, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("logs: %v", err)
			}
			return b.String()
		}
		b.Write(e.Data)
	}
}

// waitLog waits until the container's log holds want.
func (d *daemon) waitLog(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := d.logs(t, &quiltv1.LogsRequest{Id: id})
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of %s has no %q after 10 s:\n%s", id, want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quiltctl runs the client against this daemon.
func (d *daemon) quiltctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "quiltctl"), append([]string{"--address", d.addr}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("quiltctl %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

type syscallStat = syscall.Stat_t

func timestamppbNew(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func itoa(n int) string { return strconv.Itoa(n) }

// runQuiltd runs quiltd to its end (for the ways it refuses to start).
func runQuiltd(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "quiltd"), args...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return string(out), err
}

// createRequest asks for cfg, with the busybox image imported on first use
// unless cfg names another image.
func createRequest(cfg *quiltv1.ContainerConfig) *quiltv1.CreateRequest {
	if cfg.Image == "" || cfg.Image == imagePath {
		cfg.Image = imagePath
		return &quiltv1.CreateRequest{Config: cfg, ImagePath: imagePath}
	}
	return &quiltv1.CreateRequest{Config: cfg}
}
