package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/daemon/network"
	"github.com/quilt-runtime/quilt/libquilt"
)

// Daemon is quiltd's state: the runtime, the image store and the
// containers. Its methods are safe for concurrent use; operations on one
// container are serialised, operations on different containers are not.
type Daemon struct {
	cfg      Config
	rt       *libquilt.Runtime
	initPath string
	lockFile *os.File
	events   *broker
	log      *logrus.Entry

	mu     sync.Mutex
	ctrs   map[string]*ctr // by id
	names  map[string]string
	images *imageStore
	net    *network.Manager
	// seccomp holds the compiled seccomp profiles.
	seccomp *seccompCache

	// ctx ends when the daemon closes: the monitors stop then.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens the daemon's directories, takes its lock (one daemon per state
// directory) and picks up the containers a previous daemon left: running
// ones are watched again, the ones that exited meanwhile get their exit
// status.
func New(cfg Config, log *logrus.Entry) (*Daemon, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	for _, dir := range []string{cfg.Root, filepath.Join(cfg.Root, "containers"), cfg.State, filepath.Join(cfg.State, "s")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("daemon directory: %w", err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(cfg.State, "quiltd.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon lock: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("another quiltd uses state directory %s: %w", cfg.State, err)
	}
	initPath := cfg.InitPath
	if initPath == "" {
		if initPath, err = libquilt.LibexecBinary("quilt-init"); err != nil {
			lock.Close()
			return nil, err
		}
	}
	rt, err := libquilt.New(libquilt.Options{Root: filepath.Join(cfg.State, "runtime"), Shell: cfg.ShellPath})
	if err != nil {
		lock.Close()
		return nil, err
	}
	nm, err := network.New(network.Options{Config: cfg.Network, Root: cfg.Root, State: cfg.State, Log: log})
	if err != nil {
		lock.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{
		cfg: cfg, rt: rt, initPath: initPath, lockFile: lock, log: log,
		events: newBroker(), ctrs: map[string]*ctr{}, names: map[string]string{},
		images: newImageStore(cfg.Root), net: nm, ctx: ctx, cancel: cancel,
		seccomp: newSeccompCache(log),
	}
	if err := d.recover(); err != nil {
		d.Close()
		return nil, err
	}
	// Every container uses the default profile: compile it now rather
	// than in the first create.
	if profile, err := defaultSeccompProfile(); err == nil {
		go d.seccomp.get(profile) // get logs its error
	}
	return d, nil
}

// Config returns the daemon's configuration, defaults filled in.
func (d *Daemon) Config() Config { return d.cfg }

// Close stops watching the containers (they go on running) and releases
// the daemon's lock.
func (d *Daemon) Close() {
	d.cancel()
	d.wg.Wait()
	d.events.close()
	if d.lockFile != nil {
		d.lockFile.Close()
	}
}

// recover loads the container records of a previous daemon.
func (d *Daemon) recover() error {
	entries, err := os.ReadDir(filepath.Join(d.cfg.Root, "containers"))
	if err != nil {
		return fmt.Errorf("containers: %w", err)
	}
	for _, e := range entries {
		dir := filepath.Join(d.cfg.Root, "containers", e.Name())
		c, err := loadCtr(dir)
		if errors.Is(err, os.ErrNotExist) {
			// A create that died half-way: nothing was handed out.
			d.log.WithField("path", dir).Warn("removing a container directory without a record")
			d.cleanupDir(e.Name(), dir)
			continue
		}
		if err != nil {
			d.log.WithError(err).WithField("path", dir).Warn("skipping an unreadable container record")
			continue
		}
		d.ctrs[c.rec.ID] = c
		d.names[c.rec.Name] = c.rec.ID
	}
	d.restoreNetworks()
	for _, c := range d.ctrs {
		c.mu.Lock()
		d.resume(c)
		c.mu.Unlock()
	}
	d.sweepNetworks()
	return nil
}

// lookup finds a container by id, unique id prefix or name.
func (d *Daemon) lookup(ref string) (*ctr, error) {
	if ref == "" {
		return nil, errorf(ErrInvalid, "no container given")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.ctrs[ref]; ok {
		return c, nil
	}
	if id, ok := d.names[strings.TrimPrefix(ref, "/")]; ok {
		return d.ctrs[id], nil
	}
	var found *ctr
	for id, c := range d.ctrs {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, errorf(ErrInvalid, "container id prefix %q is ambiguous: give more of the id", ref)
			}
			found = c
		}
	}
	if found == nil {
		return nil, errorf(ErrNotFound, "no such container: %s", ref)
	}
	return found, nil
}

// snapshot returns the containers sorted by creation time, newest first.
func (d *Daemon) snapshot() []*ctr {
	d.mu.Lock()
	out := make([]*ctr, 0, len(d.ctrs))
	for _, c := range d.ctrs {
		out = append(out, c)
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		return out[i].createdAt().After(out[j].createdAt())
	})
	return out
}
