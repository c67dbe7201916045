package libquilt

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// signals catches every signal for a process that waits for a container
// process in the foreground, to forward them to it.
type signals struct {
	c     chan os.Signal
	ready chan struct{} // closed once every signal is caught
	once  sync.Once
	done  chan struct{} // closed once the catching has stopped
}

// catchSignals prepares this process to wait for a container process in the
// foreground: it becomes the process's reaper (libcontainer starts it
// through intermediate processes that exit) and catches every signal, for
// forward. os/signal enables signals one at a time, each a round trip to
// the Go runtime's signal thread (1 to 3 ms for all of them on a small
// VM), so the catching is set up in the background: the caller overlaps
// it with its own work and calls wait before it starts the container
// process, so that no signal meant for that process is lost. The caller
// stops the catching with stop, which does not wait either: the quilt
// command exits right after.
func catchSignals() (*signals, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	s := &signals{c: make(chan os.Signal, 128), ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		signal.Notify(s.c)
		close(s.ready)
	}()
	return s, nil
}

// wait returns once every signal is caught.
func (s *signals) wait() { <-s.ready }

// stop stops the catching in the background, as it takes as long as
// catching; the returned channel is closed once it has stopped. Signals
// that arrive meanwhile are dropped, later ones have their default effect.
// Further calls return the same channel.
func (s *signals) stop() <-chan struct{} {
	s.once.Do(func() {
		go func() {
			<-s.ready
			signal.Stop(s.c)
			close(s.done)
		}()
	})
	return s.done
}

// attachIO connects proc's terminal and pidfd to the caller. A process with
// a terminal gets the caller's own terminal in the foreground (the returned
// hostTTY, which the caller closes), or hands its pty master to
// consoleSocket when detached. The returned closers are the sockets, to
// close once the process has started.
func attachIO(proc *libcontainer.Process, terminal, detached bool, consoleSocket, pidfdSocket string) (_ *hostTTY, closers []io.Closer, retErr error) {
	defer func() {
		if retErr != nil {
			for _, c := range closers {
				c.Close()
			}
		}
	}()
	var tty *hostTTY
	switch {
	case terminal && detached:
		sock, err := dialSocket("console socket", consoleSocket)
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, sock)
		proc.ConsoleSocket = sock
	case terminal:
		var err error
		if tty, err = newHostTTY(); err != nil {
			return nil, nil, err
		}
		proc.ConsoleSocket = tty.child
		proc.Stdin, proc.Stdout, proc.Stderr = nil, nil, nil
	}
	if pidfdSocket != "" {
		sock, err := dialSocket("pidfd socket", pidfdSocket)
		if err != nil {
			if tty != nil {
				tty.close()
			}
			return nil, closers, err
		}
		closers = append(closers, sock)
		proc.PidfdSocket = sock
	}
	return tty, closers, nil
}
