package libquilt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// hostTTY wires a foreground container's pty to the caller's terminal: the
// container's init sends the pty master over a socket pair, and Quilt copies
// between it and its own stdin and stdout.
type hostTTY struct {
	parent, child *os.File // socket pair; child goes to the container
	received      chan error
	master        console.Console
	current       console.Console
	copied        sync.WaitGroup
}

func newHostTTY() (*hostTTY, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socket pair: %w", err)
	}
	t := &hostTTY{
		parent:   os.NewFile(uintptr(fds[0]), "console-parent"),
		child:    os.NewFile(uintptr(fds[1]), "console-child"),
		received: make(chan error, 1),
	}
	go func() { t.received <- t.receive() }()
	return t, nil
}

// receive takes the pty master from the socket and starts copying.
func (t *hostTTY) receive() error {
	master, err := recvFile(t.parent)
	if err != nil {
		return fmt.Errorf("receive console: %w", err)
	}
	c, err := console.ConsoleFromFile(master)
	if err != nil {
		master.Close()
		return fmt.Errorf("console: %w", err)
	}
	t.master = c
	if cur, err := console.ConsoleFromFile(os.Stdin); err == nil {
		t.current = cur
		_ = cur.SetRaw()
		_ = c.ResizeFrom(cur)
	}
	go func() { _, _ = io.Copy(c, os.Stdin) }()
	t.copied.Add(1)
	go func() {
		defer t.copied.Done()
		_, _ = io.Copy(os.Stdout, c)
	}()
	return nil
}

// wait returns once the console has arrived (or failed to).
func (t *hostTTY) wait() error {
	err := <-t.received
	t.received <- err
	return err
}

func (t *hostTTY) resize() {
	if t.master != nil && t.current != nil {
		_ = t.master.ResizeFrom(t.current)
	}
}

// close waits for the output to drain, restores the terminal and closes
// everything.
func (t *hostTTY) close() {
	t.child.Close()
	t.parent.Close()
	if t.master != nil {
		t.copied.Wait()
		t.master.Close()
	}
	if t.current != nil {
		_ = t.current.Reset()
	}
}

// recvFile receives one file descriptor sent with SCM_RIGHTS.
func recvFile(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, errors.New("expected one control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("expected one file descriptor")
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
