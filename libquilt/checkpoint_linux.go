package libquilt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// ErrCRIU is wrapped by errors about CRIU itself: missing, or failing its
// own `criu check` on this kernel.
var ErrCRIU = errors.New("checkpoint/restore is not available")

// CheckpointOptions are runc's checkpoint and restore flags.
type CheckpointOptions struct {
	ImagePath, WorkPath, ParentPath string
	LeaveRunning, PreDump           bool
	TCPEstablished, TCPSkipInFlight bool
	LinkRemap, ExtUnixSk, ShellJob  bool
	FileLocks, AutoDedup, LazyPages bool
	StatusFd                        int
	PageServer                      string // ADDRESS:PORT
	ManageCgroupsMode               string
	EmptyNs                         []string
	LsmProfile, LsmMountContext     string
	// CRIU is the criu binary (default "criu" in PATH).
	CRIU string
}

// checkCRIU runs `criu check` and turns a failure into a clear error. CRIU
// 3.17 (Debian 12) fails it on recent kernels; libcontainer would then fail
// half-way through a dump.
func checkCRIU(path string) error {
	if path == "" {
		path = "criu"
	}
	bin, err := exec.LookPath(path)
	if err != nil {
		return fmt.Errorf("%w: criu not found (%s): install the criu package", ErrCRIU, path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "check").CombinedOutput()
	if err == nil {
		return nil
	}
	first := strings.TrimSpace(string(out))
	if i := strings.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	version, _ := exec.Command(bin, "--version").Output()
	v := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(version), "\n", 2)[0], "Version: "))
	return fmt.Errorf("%w: `%s check` fails on this kernel (criu %s): %s", ErrCRIU, bin, v, first)
}

func (o *CheckpointOptions) criu() (*libcontainer.CriuOpts, error) {
	opts := &libcontainer.CriuOpts{
		ImagesDirectory: o.ImagePath, WorkDirectory: o.WorkPath, ParentImage: o.ParentPath,
		LeaveRunning: o.LeaveRunning, TcpEstablished: o.TCPEstablished, TcpSkipInFlight: o.TCPSkipInFlight,
		LinkRemap: o.LinkRemap, ExternalUnixConnections: o.ExtUnixSk, ShellJob: o.ShellJob,
		FileLocks: o.FileLocks, PreDump: o.PreDump, AutoDedup: o.AutoDedup, LazyPages: o.LazyPages,
		StatusFd: o.StatusFd, LsmProfile: o.LsmProfile, LsmMountContext: o.LsmMountContext,
		ManageCgroupsMode: o.ManageCgroupsMode,
	}
	if opts.ImagesDirectory == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		opts.ImagesDirectory = wd + "/checkpoint"
	}
	if o.PageServer != "" {
		host, port, err := net.SplitHostPort(o.PageServer)
		p, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil {
			return nil, fmt.Errorf("--page-server %q: want ADDRESS:PORT", o.PageServer)
		}
		opts.PageServer = libcontainer.CriuPageServerInfo{Address: host, Port: int32(p)}
	}
	// Like runc, Quilt does not manage network devices: a restored
	// container gets an empty network namespace.
	mask := uint32(unix.CLONE_NEWNET)
	for _, ns := range o.EmptyNs {
		if ns != "network" {
			return nil, fmt.Errorf("--empty-ns %q: only network is supported", ns)
		}
	}
	opts.EmptyNs = mask
	return opts, nil
}

// Checkpoint dumps a running container with CRIU. Unless LeaveRunning or
// PreDump, the container is removed afterwards. When CRIU cannot work on
// this host the container is left running and untouched.
func (r *Runtime) Checkpoint(id string, o CheckpointOptions) error {
	return r.withLocked(id, func(c *container) error {
		status, err := c.status()
		if err != nil {
			return err
		}
		if status != Running && status != Paused {
			return &StateError{ID: id, Op: "checkpoint", Status: status, Want: "only a running or paused container can be checkpointed"}
		}
		opts, err := o.criu()
		if err != nil {
			return err
		}
		if err := checkCRIU(o.CRIU); err != nil {
			return fmt.Errorf("checkpoint container %s: %w; the container keeps running", id, err)
		}
		if err := os.MkdirAll(opts.ImagesDirectory, 0o700); err != nil {
			return fmt.Errorf("checkpoint container %s: image path: %w", id, err)
		}
		if err := c.lc.Checkpoint(opts); err != nil {
			return fmt.Errorf("checkpoint container %s: %w", id, err)
		}
		if !o.LeaveRunning && !o.PreDump {
			if err := c.lc.Destroy(); err != nil {
				return fmt.Errorf("checkpoint container %s: remove after dump: %w", id, err)
			}
			runWarnHooks("poststop", c.meta.Poststop, c.ociState(Stopped, 0))
		}
		return nil
	})
}

// restore is Run's start step for `restore`: CRIU brings the dumped
// processes back instead of a new init.
func (p *prepared) restore(o *CheckpointOptions) error {
	opts, err := o.criu()
	if err != nil {
		return err
	}
	if err := checkCRIU(o.CRIU); err != nil {
		return err
	}
	return p.lc.Restore(p.proc, opts)
}
