package libquilt

import (
	"errors"
	"fmt"
	"github.com/opencontainers/cgroups"
	"os"
)

// DefaultRoot is where the quilt command keeps container state.
const DefaultRoot = "/run/quilt"

// Runtime manages the containers under one state root.
type Runtime struct {
	root        string
	systemd     bool
	shell       string
	oneProcInit bool
}

// Options configure a Runtime.
type Options struct {
	// Root is the state directory (DefaultRoot when empty).
	Root string
	// SystemdCgroup places containers in systemd units (cgroupsPath
	// "slice:prefix:name"); it needs a running systemd.
	SystemdCgroup bool
	// Shell is the quilt-sh binary that nixfix mounts into containers
	// (a private copy of it). Empty: DefaultShellPath, else quilt-sh next
	// to the running executable.
	Shell string
	// OneProcInit starts the Go runtime of each container's init process
	// (libcontainer's re-execution of this binary) with one P, the number
	// libcontainer's init switches to as soon as it runs: starting with
	// more costs it an extra thread, a scheduler resize and a few hundred
	// page faults. libcontainer hands the init this process's GOMAXPROCS,
	// so when that is unset it is set to 1 in this process's environment
	// while an init process starts. That suits a process that starts one
	// container at a time, as the quilt command does; the hooks that run
	// meanwhile get the environment from before.
	OneProcInit bool
}

// ErrNoSystemd is returned by New when the systemd cgroup driver is asked
// for on a host where systemd is not the init system.
var ErrNoSystemd = errors.New("systemd is not running on this host (no /run/systemd/system): drop --systemd-cgroup to use the cgroupfs driver")

// New returns a Runtime over opts.Root. It creates nothing on disk until a
// container is created.
func New(opts Options) (*Runtime, error) {
	root := opts.Root
	if root == "" {
		root = DefaultRoot
	}
	if opts.SystemdCgroup {
		if fi, err := os.Stat("/run/systemd/system"); err != nil || !fi.IsDir() {
			return nil, ErrNoSystemd
		}
	}
	return &Runtime{root: root, systemd: opts.SystemdCgroup, shell: opts.Shell, oneProcInit: opts.OneProcInit}, nil
}

func (r *Runtime) ensureRoot() error {
	if err := os.MkdirAll(r.root, 0o700); err != nil {
		return fmt.Errorf("state root: %w", err)
	}
	return nil
}

// Cgroup2Unified reports whether the host runs cgroup v2 only.
func Cgroup2Unified() bool { return cgroups.IsCgroup2UnifiedMode() }
