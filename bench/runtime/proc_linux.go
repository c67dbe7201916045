package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes the harness the parent of every container init
// whose runtime exits before it (after a detached `create`), as a
// containerd shim is. The harness then reaps those inits itself instead of
// leaving zombies to pid 1.
func becomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("child subreaper: %w", err)
	}
	return nil
}

// readPid reads a --pid-file written by `create`.
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad pid %q", path, b)
	}
	return pid, nil
}

// exitWaiter waits for one process to exit without being its parent: a
// pidfd becomes readable when the process exits. Opened while the
// container is still in the created state (its init blocked before exec),
// the pidfd refers to the right process whatever happens to the pid later.
type exitWaiter struct {
	pid int
	fd  int
}

func openExitWaiter(pid int) (*exitWaiter, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd of %d: %w", pid, err)
	}
	return &exitWaiter{pid: pid, fd: fd}, nil
}

// wait blocks until the process has exited or timeout has passed, then
// reaps the process if it is the harness's child (see becomeSubreaper).
func (w *exitWaiter) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("pid %d: %w", w.pid, ErrExitTimeout)
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll pidfd of %d: %w", w.pid, err)
		}
		if n > 0 {
			break
		}
	}
	var ws unix.WaitStatus
	_, err := unix.Wait4(w.pid, &ws, unix.WNOHANG, nil)
	if err != nil && !errors.Is(err, unix.ECHILD) {
		return fmt.Errorf("reap %d: %w", w.pid, err)
	}
	return nil
}

func (w *exitWaiter) close() { unix.Close(w.fd) }

// reapOrphans reaps every exited child left to the harness as subreaper.
// It must run only when no exec.Cmd of the harness is running, or it could
// take a status the exec package waits for.
func reapOrphans() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
