package libquilt

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// Start runs the user process of a created container, then its poststart
// hooks with status "running". It returns the pid of the container's init
// process, or 0 when libcontainer could not tell it.
func (r *Runtime) Start(id string) (pid int, err error) {
	var started *container
	err = r.withLocked(id, func(c *container) error {
		status, err := c.status()
		if err != nil {
			return err
		}
		if status != Created {
			return &StateError{ID: id, Op: "start", Status: status, Want: "only a created container can be started"}
		}
		if err := c.lc.Exec(); err != nil {
			return fmt.Errorf("start container %s: %w", id, err)
		}
		if st, err := c.lc.State(); err == nil {
			pid = st.InitProcessPid
		}
		started = c
		return nil
	})
	if err != nil {
		return 0, err
	}
	started.poststart(pid)
	return pid, nil
}

func (c *container) poststart(pid int) {
	if len(c.meta.Poststart) == 0 {
		return
	}
	waitExec(pid)
	runWarnHooks("poststart", c.meta.Poststart, c.ociState(Running, pid))
}

// initComm is the name libcontainer's init process carries until it
// executes the user's program.
const initComm = "runc:[2:INIT]"

// waitExec waits until pid has executed the user's program (or exited):
// once the exec fifo is read, the init still runs the startContainer hooks
// before execve, and poststart hooks must run after the process started.
func waitExec(pid int) {
	if pid <= 0 {
		return
	}
	path := "/proc/" + strconv.Itoa(pid) + "/comm"
	deadline := time.Now().Add(time.Minute)
	for wait := 50 * time.Microsecond; time.Now().Before(deadline); wait = min(wait*2, 5*time.Millisecond) {
		comm, err := os.ReadFile(path)
		if err != nil || strings.TrimSpace(string(comm)) != initComm {
			return
		}
		time.Sleep(wait)
	}
	logrus.WithField("pid", pid).Warn("container process has not started its program after 1m; running poststart hooks anyway")
}

// Kill sends sig to the container's init process, or with all to every
// process in its cgroup. A stopped container cannot be signalled, except
// with all, which then has nothing to do.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	status, err := c.status()
	if err != nil {
		return err
	}
	if status == Stopped {
		if all {
			return nil
		}
		return &StateError{ID: id, Op: "kill", Status: status, Want: "it has no process to signal"}
	}
	if all {
		return c.signalAll(sig)
	}
	if err := c.lc.Signal(sig); err != nil {
		if gone(err) {
			return &StateError{ID: id, Op: "kill", Status: Stopped, Want: "it has no process to signal"}
		}
		return fmt.Errorf("kill container %s: %w", id, err)
	}
	return nil
}

// signalAll signals every process of the container's cgroup, then init
// (which libcontainer thaws for SIGKILL when the container is paused).
func (c *container) signalAll(sig unix.Signal) error {
	pids, err := c.lc.Processes()
	if err != nil {
		return fmt.Errorf("kill container %s: list processes: %w", c.id, err)
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill container %s: pid %d: %w", c.id, pid, err)
		}
	}
	// init was among the pids; its parent (a shim) may have reaped it
	// already, which is no error.
	if err := c.lc.Signal(sig); err != nil && !gone(err) {
		return fmt.Errorf("kill container %s: %w", c.id, err)
	}
	return nil
}

// gone reports whether a signal failed because the process had exited.
func gone(err error) bool {
	return errors.Is(err, libcontainer.ErrNotRunning) || errors.Is(err, os.ErrProcessDone) || errors.Is(err, unix.ESRCH)
}

// Delete removes a stopped container: its cgroup, its state, and then runs
// its poststop hooks. A created, running or paused container is refused
// unless force, which kills it first. Deleting a missing container with
// force succeeds.
func (r *Runtime) Delete(id string, force bool) error {
	var deleted *container
	err := r.locked(id, func() error {
		c, err := r.load(id)
		if errors.Is(err, ErrNotExist) && force {
			// A create that died half-way may leave a directory
			// without state.json behind.
			if err := os.RemoveAll(r.stateDir(id)); err != nil {
				return fmt.Errorf("delete container %s: %w", id, err)
			}
			return nil
		} else if err != nil {
			return err
		}
		status, err := c.status()
		if err != nil {
			return err
		}
		if status != Stopped {
			if !force {
				return &StateError{ID: id, Op: "delete", Status: status, Want: "stop it first, or use --force"}
			}
			if err := c.killAndWait(); err != nil {
				return err
			}
		}
		if err := c.lc.Destroy(); err != nil {
			return fmt.Errorf("delete container %s: %w", id, err)
		}
		deleted = c
		return nil
	})
	if err != nil {
		return err
	}
	if deleted != nil {
		runWarnHooks("poststop", deleted.meta.Poststop, deleted.ociState(Stopped, 0))
	}
	return nil
}

// killAndWait sends SIGKILL and waits up to 10 s for the container to stop.
func (c *container) killAndWait() error {
	if err := c.lc.Signal(unix.SIGKILL); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("kill container %s: %w", c.id, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(wait*2, 100*time.Millisecond) {
		status, err := c.status()
		if err != nil {
			return err
		}
		if status == Stopped {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill container %s: still %s 10s after SIGKILL", c.id, status)
		}
		time.Sleep(wait)
	}
}
