package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/daemon/initproto"
	"github.com/quilt-runtime/quilt/libquilt"
)

// Start starts a created container.
func (d *Daemon) Start(ctx context.Context, ref string) (*quiltv1.Container, error) {
	c, err := d.lookup(ref)
	if err != nil {
		return nil, err
	}
	if err := d.start(c); err != nil {
		return nil, err
	}
	return c.toProto(), nil
}

func (d *Daemon) start(c *ctr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.removed:
		return errorf(ErrNotFound, "no such container: %s", c.rec.Name)
	case c.rec.State == stateRunning:
		return errorf(ErrState, "container %s is already running", c.rec.Name)
	case c.rec.State == stateExited:
		return errorf(ErrState, "container %s has exited: a container runs once; create a new one", c.rec.Name)
	}
	id := c.rec.ID
	pid, err := d.rt.Start(id)
	if err != nil {
		return fmt.Errorf("start container %s: %w", c.rec.Name, err)
	}
	if pid <= 0 {
		st, err := d.rt.State(id)
		if err != nil {
			return fmt.Errorf("start container %s: %w", c.rec.Name, err)
		}
		pid = st.Pid
	}
	c.rec.State, c.rec.Pid, c.rec.Started = stateRunning, pid, time.Now().UTC()
	if err := c.saveUnsynced(); err != nil {
		return err
	}
	d.watch(c, pid, true)
	d.events.publish(c.event("start"))
	return nil
}

// watch waits, in the background, for the container's init to end, then
// records how the container exited. child says that this daemon started
// it, so that its exit status is this process's to collect.
func (d *Daemon) watch(c *ctr, pid int, child bool) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		status, ok := waitPid(d.ctx, pid, child)
		if d.ctx.Err() != nil && !ok {
			return // the daemon is closing; the container goes on
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		d.finish(c, status)
	}()
}

// waitPid waits for pid to end. The status is known only for a child of
// this process (a container started by this daemon, not by a previous
// one): only a child's pid is sure to stay its own until it is reaped,
// any other may be reused at once. It returns early, ok false, when ctx
// ends.
func waitPid(ctx context.Context, pid int, child bool) (ws *unix.WaitStatus, ok bool) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		// ESRCH: it is gone, reaped already. Its pid may be another
		// process's now, even a child of this daemon (libcontainer's
		// intermediate process of another create): waiting for it
		// would steal that child's status.
		return nil, true
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer stop()
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, false
	}
	exited := false
	rerr := raw.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 0)
		exited = n > 0
		return exited
	})
	if rerr != nil && !exited {
		return nil, false
	}
	if !child {
		return nil, true
	}
	return reap(pid), true
}

// reap collects pid's exit status when it is a child of this process.
func reap(pid int) *unix.WaitStatus {
	var ws unix.WaitStatus
	for {
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil || got != pid:
			return nil
		}
		return &ws
	}
}

// finish records the exit of a container whose init has ended: the exit
// status quilt-init wrote (or the wait status, or 137 after the daemon's
// SIGKILL), whether the kernel OOM-killed it, and then releases its
// runtime state and cgroup. c.mu is held.
func (d *Daemon) finish(c *ctr, ws *unix.WaitStatus) {
	if c.rec.State == stateExited || c.removed {
		return
	}
	id := c.rec.ID
	log := d.log.WithField("id", id)
	c.rec.Finished = time.Now().UTC()
	st, err := initproto.ReadExitStatus(c.exitPath())
	switch {
	case err == nil:
		c.rec.ExitCode, c.rec.Finished = st.ExitCode, st.Finished.UTC()
	case ws != nil && ws.Signaled():
		c.rec.ExitCode = 128 + int(ws.Signal())
	case ws != nil:
		c.rec.ExitCode = ws.ExitStatus()
	case c.rec.Killed:
		c.rec.ExitCode = 137
	default:
		c.rec.ExitCode = 255
		c.rec.Error = "the exit status is unknown: quilt-init recorded none"
	}
	if n, ok, err := d.rt.OOMKills(id); err == nil && ok && n > 0 {
		c.rec.OOM = true
	}
	// Waiters learn the exit first; the clean-up below (cgroups in every
	// hierarchy, the network, an fsynced record) is not theirs to wait
	// for. Anything that changes the container takes c.mu, held until the
	// end.
	socket := c.rec.Socket
	c.rec.State, c.rec.Pid, c.rec.Socket = stateExited, 0, ""
	c.setExited()
	if err := d.rt.Delete(id, true); err != nil && !errors.Is(err, libquilt.ErrNotExist) {
		log.WithError(err).Warn("deleting the exited container's runtime state")
	}
	d.detachNetwork(c)
	os.Remove(socket)
	// A container removed on exit needs no record of it: the removal
	// below waits for c.mu. Should quiltd die before that, the next one
	// finds the container gone and comes here again.
	if !c.config.AutoRemove {
		if err := c.save(); err != nil {
			log.WithError(err).Error("saving the container's exit status")
		}
	}
	if c.rec.OOM {
		d.events.publish(c.event("oom"))
	}
	d.events.publish(c.event("exit"))
	log.WithField("exit_code", c.rec.ExitCode).Info("container exited")
	if c.config.AutoRemove {
		go func() {
			if err := d.Remove(context.Background(), id, true); err != nil && !errors.Is(err, ErrNotFound) {
				log.WithError(err).Warn("auto-removing the container")
			}
		}()
	}
}

// resume picks up a container after a daemon restart. c.mu is held.
func (d *Daemon) resume(c *ctr) {
	if c.rec.State == stateExited {
		return
	}
	st, err := d.rt.State(c.rec.ID)
	switch {
	case errors.Is(err, libquilt.ErrNotExist):
		d.finish(c, nil)
	case err != nil:
		d.log.WithError(err).WithField("id", c.rec.ID).Warn("reading the state of a container")
	case st.Status == libquilt.Stopped:
		d.finish(c, nil)
	case st.Status == libquilt.Created && c.rec.State == stateCreated:
		// still waiting to be started
	default:
		if c.rec.State == stateCreated {
			// started by a daemon that died before it saved that
			c.rec.State, c.rec.Started = stateRunning, time.Now().UTC()
			_ = c.save()
		}
		c.rec.Pid = st.Pid
		d.watch(c, st.Pid, false)
	}
}

// Wait waits until the container has exited and returns its exit status.
func (d *Daemon) Wait(ctx context.Context, ref string) (*quiltv1.WaitResponse, error) {
	c, err := d.lookup(ref)
	if err != nil {
		return nil, err
	}
	select {
	case <-c.exited:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.exit, nil
}

// Stop sends the signal (SIGTERM when empty) to the container's command
// and SIGKILL to all of it when it has not exited within timeout.
func (d *Daemon) Stop(ctx context.Context, ref, signal string, timeout time.Duration) (*quiltv1.Container, error) {
	c, err := d.lookup(ref)
	if err != nil {
		return nil, err
	}
	sig := unix.SIGTERM
	if signal != "" {
		if sig, err = libquilt.ParseSignal(signal); err != nil {
			return nil, errorf(ErrInvalid, "stop signal: %w", err)
		}
	}
	c.mu.Lock()
	state := c.rec.State
	c.mu.Unlock()
	if state != stateRunning {
		return c.toProto(), nil // created or exited: nothing runs
	}
	if timeout > 0 && sig != unix.SIGKILL {
		if err := d.signal(c, sig); err != nil {
			return nil, err
		}
		t := time.NewTimer(timeout)
		select {
		case <-c.exited:
			t.Stop()
			return c.toProto(), nil
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	if err := d.killAll(c); err != nil {
		return nil, err
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("container %s did not exit 10 s after SIGKILL", c.rec.Name)
	}
	return c.toProto(), nil
}

// Kill sends a signal to the container's command; SIGKILL kills all of
// the container.
func (d *Daemon) Kill(ctx context.Context, ref, signal string) error {
	c, err := d.lookup(ref)
	if err != nil {
		return err
	}
	sig := unix.SIGKILL
	if signal != "" {
		if sig, err = libquilt.ParseSignal(signal); err != nil {
			return errorf(ErrInvalid, "kill signal: %w", err)
		}
	}
	if sig == unix.SIGKILL {
		return d.killAll(c)
	}
	return d.signal(c, sig)
}

// signal sends sig to quilt-init, which hands it to the command.
func (d *Daemon) signal(c *ctr, sig unix.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.State != stateRunning {
		return errorf(ErrState, "container %s is not running", c.rec.Name)
	}
	if err := d.rt.Kill(c.rec.ID, sig, false); err != nil {
		return d.signalError(c, err)
	}
	return nil
}

// killAll sends SIGKILL to every process of a running container.
func (d *Daemon) killAll(c *ctr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.State != stateRunning {
		return errorf(ErrState, "container %s is not running", c.rec.Name)
	}
	c.rec.Killed = true
	if err := c.save(); err != nil {
		return err
	}
	if err := d.rt.Kill(c.rec.ID, unix.SIGKILL, true); err != nil {
		return d.signalError(c, err)
	}
	return nil
}

func (d *Daemon) signalError(c *ctr, err error) error {
	var se *libquilt.StateError
	if errors.As(err, &se) || errors.Is(err, libquilt.ErrNotExist) {
		return errorf(ErrState, "container %s is not running", c.rec.Name)
	}
	return fmt.Errorf("signal container %s: %w", c.rec.Name, err)
}

// Remove deletes a container and everything it had: runtime state,
// cgroup, bundle and its overlay, logs, record. A running container is
// refused unless force, which kills it first.
func (d *Daemon) Remove(ctx context.Context, ref string, force bool) error {
	c, err := d.lookup(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.removed {
		c.mu.Unlock()
		return errorf(ErrNotFound, "no such container: %s", ref)
	}
	state := c.rec.State
	c.mu.Unlock()
	if state == stateRunning {
		if !force {
			return errorf(ErrState, "container %s is running: stop it first, or force the removal", c.rec.Name)
		}
		if err := d.killAll(c); err != nil && !errors.Is(err, ErrState) {
			return err
		}
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("container %s did not exit 10 s after SIGKILL", c.rec.Name)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	if c.removed {
		c.mu.Unlock()
		return errorf(ErrNotFound, "no such container: %s", ref)
	}
	c.removed = true
	c.mu.Unlock()
	d.cleanupDir(c.rec.ID, c.dir)
	d.mu.Lock()
	delete(d.ctrs, c.rec.ID)
	delete(d.names, c.rec.Name)
	d.mu.Unlock()
	d.events.publish(c.event("remove"))
	close(c.gone)
	d.log.WithField("id", c.rec.ID).Info("container removed")
	return nil
}
