package libquilt

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// CreateOptions describe a container to create from a bundle.
type CreateOptions struct {
	// ID names the container; see ValidateID.
	ID string
	// Bundle is the bundle directory holding config.json.
	Bundle string
	// Spec, when set, is used instead of reading Bundle/config.json (the
	// caller has loaded and validated it, and Bundle must be absolute).
	Spec *specs.Spec
	// PidFile receives the container's init pid (no trailing newline).
	PidFile string
	// ConsoleSocket is a unix socket that receives the pty master when
	// process.terminal is true and the caller does not stay attached.
	ConsoleSocket string
	// PidfdSocket is a unix socket that receives a pidfd of the init.
	PidfdSocket string
	// NoPivot uses MS_MOVE instead of pivot_root (for a ramdisk root).
	NoPivot bool
	// NoNewKeyring keeps the caller's session keyring.
	NoNewKeyring bool
	// PreserveFDs passes this many extra descriptors, from fd 3 on, to
	// the container process.
	PreserveFDs int
	// ExtraFiles are passed to the container process after the preserved
	// descriptors (from fd 3 + PreserveFDs on), for callers that hold the
	// files themselves (quiltd).
	ExtraFiles []*os.File
	// Stdin, Stdout and Stderr become the container process's stdio. An
	// *os.File is handed over as it is.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LogLevel is passed to libcontainer's init process.
	LogLevel logrus.Level
	// Nixfix overrides the spec's nixfix annotations for the check and
	// repair of a Nix-built rootfs that runs before the container exists.
	Nixfix NixfixFlags
}

// prepared is a container that exists in the root but whose init process
// has not been started yet.
type prepared struct {
	lc   *libcontainer.Container
	proc *libcontainer.Process
	// addressLimit is RLIMIT_AS, applied once init has set itself up.
	addressLimit *configs.Rlimit
	meta         *meta
	spec         *specs.Spec
	lock         *containerLock
	closers      []io.Closer
	// tty is the caller's terminal wired to a foreground container.
	tty *hostTTY
	// oneProcInit is Options.OneProcInit.
	oneProcInit bool
}

// Create creates a container and leaves its init process waiting for Start.
// On error nothing is left behind: no state directory, cgroup or process.
func (r *Runtime) Create(opts CreateOptions) error {
	p, err := r.prepare(&opts, true)
	if err != nil {
		return err
	}
	defer p.closeAll()
	if err := p.start(); err != nil {
		p.destroy()
		return fmt.Errorf("create container %s: %w", opts.ID, p.diagnose(err))
	}
	if err := writePidFile(opts.PidFile, p.proc); err != nil {
		p.kill()
		p.destroy()
		return err
	}
	p.lock.unlock(false)
	return nil
}

// prepare checks the options, loads the bundle, converts the spec and
// creates the libcontainer container. It returns with the container's lock
// held. detached says that the caller will not stay attached to the
// container's stdio (create, run --detach).
func (r *Runtime) prepare(opts *CreateOptions, detached bool) (_ *prepared, retErr error) {
	if err := ValidateID(opts.ID); err != nil {
		return nil, err
	}
	s, bundle := opts.Spec, opts.Bundle
	if s == nil {
		var err error
		if s, bundle, err = LoadBundle(opts.Bundle); err != nil {
			return nil, err
		}
	}
	if err := checkTerminal(s.Process.Terminal, detached, opts.ConsoleSocket); err != nil {
		return nil, err
	}
	if err := r.ensureRoot(); err != nil {
		return nil, err
	}
	lock, err := lockContainer(r.root, opts.ID)
	if err != nil {
		return nil, err
	}
	p := &prepared{lock: lock, spec: s, oneProcInit: r.oneProcInit}
	defer func() {
		if retErr != nil {
			p.closeAll()
			if p.lc != nil {
				p.destroy()
			} else {
				p.lock.unlock(!exists(r.stateDir(opts.ID)))
			}
		}
	}()
	if exists(r.stateDir(opts.ID)) {
		return p, fmt.Errorf("%w: %s", ErrExist, opts.ID)
	}

	fix, err := r.fixRootfs(opts.ID, s, bundle, opts.Nixfix)
	if err != nil {
		return p, fmt.Errorf("container %s: %w", opts.ID, err)
	}
	m := &meta{Bundle: bundle, OCIVersion: s.Version, Annotations: s.Annotations, Process: s.Process}
	config, err := r.convert(opts, fix.withShellMount(s, r.stateDir(opts.ID)), bundle, m)
	if err != nil {
		return p, fmt.Errorf("container %s: %w", opts.ID, err)
	}
	lc, err := libcontainer.Create(r.root, opts.ID, config)
	if err != nil {
		if errors.Is(err, libcontainer.ErrExist) {
			return p, fmt.Errorf("%w: %s", ErrExist, opts.ID)
		}
		return p, fmt.Errorf("create container %s: %w", opts.ID, err)
	}
	p.lc, p.meta = lc, m
	if err := fix.finish(r.stateDir(opts.ID)); err != nil {
		return p, fmt.Errorf("container %s: %w", opts.ID, err)
	}
	if err := saveMeta(r.stateDir(opts.ID), m); err != nil {
		return p, fmt.Errorf("container %s: %w", opts.ID, err)
	}
	proc, err := newProcess(s.Process, opts.LogLevel)
	if err != nil {
		return p, fmt.Errorf("container %s: %w", opts.ID, err)
	}
	proc.Init = true
	proc.Rlimits, p.addressLimit = splitAddressLimit(proc.Rlimits)
	proc.Stdin, proc.Stdout, proc.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	if err := addPreservedFDs(proc, opts.PreserveFDs); err != nil {
		return p, fmt.Errorf("container %s: %w", opts.ID, err)
	}
	proc.ExtraFiles = append(proc.ExtraFiles, opts.ExtraFiles...)
	p.tty, p.closers, err = attachIO(proc, s.Process.Terminal, detached, opts.ConsoleSocket, opts.PidfdSocket)
	if err != nil {
		return p, err
	}
	p.proc = proc
	return p, nil
}

// convert turns the spec into libcontainer's configuration. Paths are made
// absolute so that the conversion does not depend on the working directory,
// and the poststart and poststop hooks move to m: Quilt runs them itself.
func (r *Runtime) convert(opts *CreateOptions, s *specs.Spec, bundle string, m *meta) (*configs.Config, error) {
	cp := *s
	root := *s.Root
	if !filepath.IsAbs(root.Path) {
		root.Path = filepath.Join(bundle, root.Path)
	}
	cp.Root = &root
	cp.Mounts = append([]specs.Mount(nil), s.Mounts...)
	for i, mnt := range cp.Mounts {
		if isBind(mnt) && mnt.Source != "" && !filepath.IsAbs(mnt.Source) {
			cp.Mounts[i].Source = filepath.Join(bundle, mnt.Source)
		}
	}
	if s.Linux != nil && len(s.Linux.Devices) > 0 {
		// A FIFO has no device numbers; libcontainer 1.5 checks the
		// ones given against the node it made (0:0).
		linux := *s.Linux
		linux.Devices = append([]specs.LinuxDevice(nil), s.Linux.Devices...)
		for i := range linux.Devices {
			if linux.Devices[i].Type == "p" {
				linux.Devices[i].Major, linux.Devices[i].Minor = 0, 0
			}
		}
		cp.Linux = &linux
	}
	if s.Hooks != nil {
		h := *s.Hooks
		m.Poststart, m.Poststop = h.Poststart, h.Poststop
		h.Poststart, h.Poststop = nil, nil
		if r.oneProcInit {
			// They run in this process while the init process starts.
			h.Prestart, h.CreateRuntime = withOwnEnv(h.Prestart), withOwnEnv(h.CreateRuntime)
		}
		cp.Hooks = &h
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:       opts.ID,
		UseSystemdCgroup: r.systemd,
		NoPivotRoot:      opts.NoPivot,
		NoNewKeyring:     opts.NoNewKeyring,
		Spec:             &cp,
		RootlessEUID:     os.Geteuid() != 0,
		RootlessCgroups:  os.Geteuid() != 0,
	})
	if err != nil {
		return nil, err
	}
	// The runtime-spec hands prestart, createRuntime and createContainer
	// hooks the state of a container that exists: status "created", not
	// "creating". (createContainer hooks run before pivot_root, so the
	// runtime binary's host path still resolves.)
	for _, name := range []configs.HookName{configs.Prestart, configs.CreateRuntime, configs.CreateContainer} {
		for i, h := range config.Hooks[name] {
			if config.Hooks[name][i], err = shimHook(h, specs.StateCreated); err != nil {
				return nil, err
			}
		}
	}
	// The kernel ignores filesystem options of a bind mount, and runc 1.1
	// accepted them; libcontainer 1.5 refuses them, so drop them.
	for _, mnt := range config.Mounts {
		if mnt.Flags&unix.MS_BIND != 0 && mnt.Data != "" {
			logrus.WithField("path", mnt.Destination).Debugf("ignoring filesystem options %q of a bind mount", mnt.Data)
			mnt.Data = ""
		}
	}
	return config, nil
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func checkTerminal(terminal, detached bool, consoleSocket string) error {
	switch {
	case terminal && detached && consoleSocket == "":
		return errors.New("process.terminal is true but no --console-socket was given to receive the terminal of a detached container")
	case consoleSocket != "" && !terminal:
		return errors.New("--console-socket needs process.terminal set to true in config.json")
	case consoleSocket != "" && !detached:
		return errors.New("--console-socket is only for detached containers (create, run --detach)")
	}
	return nil
}

// dialSocket connects to a caller's unix socket and returns it as a file.
func dialSocket(what, path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return f, nil
}

func addPreservedFDs(proc *libcontainer.Process, n int) error {
	if n < 0 {
		return fmt.Errorf("--preserve-fds %d: must not be negative", n)
	}
	for fd := 3; fd < 3+n; fd++ {
		if err := unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &unix.Flock_t{}); errors.Is(err, unix.EBADF) {
			return fmt.Errorf("--preserve-fds %d: file descriptor %d is not open", n, fd)
		}
		proc.ExtraFiles = append(proc.ExtraFiles, os.NewFile(uintptr(fd), "preserved-fd-"+strconv.Itoa(fd)))
	}
	return nil
}

func writePidFile(path string, proc *libcontainer.Process) error {
	if path == "" {
		return nil
	}
	pid, err := proc.Pid()
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	if err := writeFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// start starts the init process, which then waits for Exec, and applies
// what libcontainer leaves out.
func (p *prepared) start() error {
	if err := withInitGOMAXPROCS(p.oneProcInit, func() error { return p.lc.Start(p.proc) }); err != nil {
		return err
	}
	if err := p.applyAddressLimit(); err != nil {
		p.kill()
		return err
	}
	if p.spec.Linux != nil {
		if err := applyKernelTCP(p.lc, p.spec.Linux.Resources); err != nil {
			p.kill()
			return err
		}
		if err := orderDeviceRules(p.lc, p.spec.Linux.Resources); err != nil {
			p.kill()
			return err
		}
	}
	return nil
}

// splitAddressLimit takes RLIMIT_AS out of the limits libcontainer applies.
// It applies them to the init process before init has loaded the seccomp
// filter; the init's Go runtime already reserves more than a GiB of
// address space, so a lower RLIMIT_AS makes libseccomp fail with ENOMEM.
// The limit is applied instead while init waits for start, before the
// container's program runs.
func splitAddressLimit(limits []configs.Rlimit) ([]configs.Rlimit, *configs.Rlimit) {
	var rest []configs.Rlimit
	var as *configs.Rlimit
	for i, l := range limits {
		if l.Type == unix.RLIMIT_AS {
			as = &limits[i]
			continue
		}
		rest = append(rest, l)
	}
	return rest, as
}

func (p *prepared) applyAddressLimit() error {
	if p.addressLimit == nil {
		return nil
	}
	pid, err := p.proc.Pid()
	if err != nil {
		return err
	}
	lim := unix.Rlimit{Cur: p.addressLimit.Soft, Max: p.addressLimit.Hard}
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &lim, nil); err != nil {
		return fmt.Errorf("process.rlimits: RLIMIT_AS: %w", err)
	}
	return nil
}

// diagnose explains a failure to execute the container's program.
func (p *prepared) diagnose(err error) error {
	args := p.spec.Process.Args
	if len(args) == 0 {
		return err
	}
	return diagnoseExec(err, p.lc.Config().Rootfs, args[0], p.spec.Process.Env)
}

// kill stops a started init process that will not be used.
func (p *prepared) kill() {
	_ = p.proc.Signal(unix.SIGKILL)
	_, _ = p.proc.Wait()
}

// destroy removes the container's state and cgroup and releases the lock.
func (p *prepared) destroy() {
	if err := p.lc.Destroy(); err != nil {
		logrus.WithField("id", p.lc.ID()).Warnf("clean up after failed create: %v", err)
	}
	p.lock.unlock(true)
}

// closeAll closes the sockets given to the process and, once its output
// has drained, the terminal wiring.
func (p *prepared) closeAll() {
	for _, c := range p.closers {
		_ = c.Close()
	}
	p.closers = nil
	if p.tty != nil {
		p.tty.close()
		p.tty = nil
	}
}
