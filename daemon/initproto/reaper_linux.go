package initproto

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper starts processes and collects the exit status of every child, as
// PID 1 (or a child subreaper) must. Each SIGCHLD should call reap. It
// hands the status of a process it started to that process's child and
// discards those of orphans reparented to it.
//
// start forks and registers the new pid under the same lock that reap
// takes, so a child that exits at once is never mistaken for an orphan.
type reaper struct {
	mu       sync.Mutex
	children map[int]*child
}

// child is a process started by a reaper.
type child struct {
	pid  int
	done chan struct{} // closed once the process has been reaped
	// status is valid once done is closed.
	status unix.WaitStatus
	exited bool // guarded by reaper.mu
}

func newReaper() *reaper {
	return &reaper{children: make(map[int]*child)}
}

// start runs path with argv and attr and registers the new process.
func (r *reaper) start(path string, argv []string, attr *syscall.ProcAttr) (*child, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return nil, err
	}
	c := &child{pid: pid, done: make(chan struct{})}
	r.children[pid] = c
	return c, nil
}

// reap collects every child that has exited, without blocking.
func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if c, ok := r.children[pid]; ok {
			delete(r.children, pid)
			c.status, c.exited = ws, true
			close(c.done)
		}
	}
}

// signal sends sig to c, or to its process group when group is set, as
// long as c has not been reaped: the pid cannot have been reused before.
func (r *reaper) signal(c *child, sig unix.Signal, group bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.exited {
		return errExited
	}
	pid := c.pid
	if group {
		pid = -pid
	}
	return unix.Kill(pid, sig)
}
