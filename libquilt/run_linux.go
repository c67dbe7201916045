package libquilt

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// RunOptions describe `run`: create and start in one step.
type RunOptions struct {
	CreateOptions
	// Detach returns as soon as the container runs; otherwise Run waits
	// for it, forwarding signals, and returns its exit status.
	Detach bool
	// Keep leaves a foreground container in place after it exits.
	Keep bool
	// Restore, when set, restores the container from a CRIU checkpoint
	// instead of starting config.json's process.
	Restore *CheckpointOptions
}

// Run creates and starts a container. Detached, it returns 0 once the
// process runs. In the foreground it forwards the signals it receives to
// the container's init, waits for it, removes the container unless Keep, and
// returns the exit status (128+n for a process killed by signal n). It
// catches every signal from its start and stops catching them in the
// background as it returns: it is meant for a process that exits then.
func (r *Runtime) Run(opts RunOptions) (int, error) {
	var sigs *signals
	if !opts.Detach {
		var err error
		if sigs, err = catchSignals(); err != nil {
			return -1, err
		}
		defer sigs.stop()
	}
	p, err := r.prepare(&opts.CreateOptions, opts.Detach)
	if err != nil {
		return -1, err
	}
	defer p.closeAll()
	tty := p.tty
	if sigs != nil {
		sigs.wait()
	}
	if opts.Restore != nil {
		if err := p.restore(opts.Restore); err != nil {
			p.destroy()
			return -1, fmt.Errorf("restore container %s: %w", opts.ID, err)
		}
	} else {
		if err := p.start(); err != nil {
			err = p.diagnose(err)
			p.destroy()
			return -1, fmt.Errorf("run container %s: %w", opts.ID, err)
		}
		if err := p.lc.Exec(); err != nil {
			p.kill()
			p.destroy()
			return -1, fmt.Errorf("run container %s: %w", opts.ID, err)
		}
	}
	if tty != nil {
		if err := tty.wait(); err != nil {
			p.kill()
			p.destroy()
			return -1, err
		}
	}
	if err := writePidFile(opts.PidFile, p.proc); err != nil {
		p.kill()
		p.destroy()
		return -1, err
	}
	p.lock.unlock(false)
	pid, err := p.proc.Pid()
	if err != nil {
		return -1, fmt.Errorf("run container %s: %w", opts.ID, err)
	}
	c := &container{id: opts.ID, lc: p.lc, meta: p.meta, dir: r.stateDir(opts.ID)}
	c.poststart(pid)
	if opts.Detach {
		return 0, nil
	}
	status := forward(sigs.c, pid, tty)
	// The container is gone: nothing is left to forward signals to.
	sigs.stop()
	if !opts.Keep {
		if err := r.locked(opts.ID, c.lc.Destroy); err != nil {
			return status, fmt.Errorf("remove container %s: %w", opts.ID, err)
		}
		runWarnHooks("poststop", c.meta.Poststop, c.ociState(Stopped, 0))
	}
	return status, nil
}

// forward relays signals to pid until it exits and returns its status.
func forward(sigc chan os.Signal, pid int, tty *hostTTY) int {
	if status, done := reap(pid); done {
		return status
	}
	for sig := range sigc {
		switch sig {
		case unix.SIGCHLD:
			if status, done := reap(pid); done {
				return status
			}
		case unix.SIGWINCH:
			if tty != nil {
				tty.resize()
			}
		case unix.SIGURG:
			// The Go runtime's preemption signal; not the user's.
		default:
			_ = unix.Kill(pid, sig.(unix.Signal))
		}
	}
	return -1
}

// reap collects every exited child; it reports pid's status once pid is
// among them.
func reap(pid int) (int, bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if got <= 0 || err != nil {
			return 0, false
		}
		if got == pid {
			return exitStatus(ws), true
		}
	}
}

func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
