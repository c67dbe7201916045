package libquilt

import (
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// catchSignals prepares this process to wait for a container process in the
// foreground: it becomes the process's reaper (libcontainer starts it
// through intermediate processes that exit) and catches every signal, for
// forward. The caller stops the catching with signal.Stop.
func catchSignals() (chan os.Signal, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	sigc := make(chan os.Signal, 128)
	signal.Notify(sigc)
	return sigc, nil
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
