package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestConsoleSocket gives the container a terminal: create sends the pty
// master to a unix socket, and the test reads the process's output from it.
func TestConsoleSocket(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(shell("/bin/testinit isatty; /bin/testinit echo console-ok"), func(s *specs.Spec) {
		s.Process.Terminal = true
	})
	c := listenConsole(t)
	id := h.id()
	if r := h.create(b, id, "--console-socket", c.path); r.code != 0 {
		t.Fatalf("%v", r)
	}
	master := c.receive(t)
	out := readTerminal(master, "console-ok")
	h.mustExec("start", id)
	got := <-out
	if !strings.Contains(got, "stdin=tty stdout=tty") || !strings.Contains(got, "console-ok") {
		t.Errorf("terminal output %q, want stdin=tty stdout=tty and console-ok", got)
	}
	h.waitStatus(id, "stopped")
	h.mustExec("delete", id)
}

// TestRunConsoleSocket does the same with run --detach.
func TestRunConsoleSocket(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(shell("/bin/testinit isatty; /bin/testinit pause"), func(s *specs.Spec) {
		s.Process.Terminal = true
	})
	c := listenConsole(t)
	id := h.id()
	if r := h.runFg(b, id, "--detach", "--console-socket", c.path); r.code != 0 {
		t.Fatalf("%v", r)
	}
	got := <-readTerminal(c.receive(t), "ready")
	if !strings.Contains(got, "stdin=tty stdout=tty") {
		t.Errorf("terminal output %q, want stdin=tty stdout=tty", got)
	}
	h.mustExec("delete", "--force", id)
}

// consoleSocket is the receiving end of --console-socket: a unix socket
// on which the runtime sends the pty master with SCM_RIGHTS.
type consoleSocket struct {
	path string
	got  chan consoleMessage
}

type consoleMessage struct {
	master *os.File
	err    error
}

// listenConsole listens on a socket in a short temp dir (a socket path is
// limited to 108 bytes) and accepts one connection in the background.
func listenConsole(t *testing.T) *consoleSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "qit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &consoleSocket{path: filepath.Join(dir, "console.sock"), got: make(chan consoleMessage, 1)}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		master, err := acceptMaster(ln)
		c.got <- consoleMessage{master, err}
	}()
	return c
}

func acceptMaster(ln *net.UnixListener) (*os.File, error) {
	conn, err := ln.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: %d control messages, want 1", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	if len(fds) != 1 {
		unix.Close(fds[0])
		return nil, fmt.Errorf("console socket: %d descriptors, want 1", len(fds))
	}
	// Non-blocking, so that reads can time out.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

// receive waits for the pty master; the test closes it when it ends.
func (c *consoleSocket) receive(t *testing.T) *os.File {
	t.Helper()
	select {
	case m := <-c.got:
		if m.err != nil {
			t.Fatal(m.err)
		}
		t.Cleanup(func() { m.master.Close() })
		return m.master
	case <-time.After(waitTimeout):
		t.Fatalf("no pty master on the console socket after %v", waitTimeout)
		return nil
	}
}

// readTerminal reads the master until the output holds until, the
// terminal closes, or waitTimeout passes, and then sends what it read.
func readTerminal(master *os.File, until string) <-chan string {
	out := make(chan string, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		_ = master.SetReadDeadline(time.Now().Add(waitTimeout))
		for !strings.Contains(b.String(), until) {
			n, err := master.Read(buf)
			b.Write(buf[:n])
			if err != nil { // EIO once the container's side is closed
				break
			}
		}
		out <- b.String()
	}()
	return out
}
