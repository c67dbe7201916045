package main

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// exec -it on a real pseudo-terminal: the size goes with start, SIGWINCH
// sends the new size, the local terminal is raw while the command runs and
// restored after, keys go through unchanged and the status passes through.
func TestExecTerminal(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		t.Fatal(err)
	}
	// Closing the master first ends a read that is still waiting on the
	// slave.
	t.Cleanup(func() { pty.Close(); slave.Close() })
	if err := pty.Resize(console.WinSize{Height: 24, Width: 80}); err != nil {
		t.Fatal(err)
	}
	canonical := func() bool {
		tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ICANON != 0
	}
	if !canonical() {
		t.Fatal("a new terminal is not in canonical mode")
	}

	type result struct {
		stderr string
		code   int
	}
	done := make(chan result, 1)
	go func() {
		var errb bytes.Buffer
		code := run(t.Context(), []string{"quiltctl", "--address", sock, "exec", "-it", "web", "resize"}, slave, slave, &errb)
		done <- result{errb.String(), code}
	}()
	lines := make(chan string, 4)
	go func() {
		r := bufio.NewReader(pty)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- strings.TrimRight(line, "\r\n")
		}
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the terminal closed")
			}
			return l
		case r := <-done:
			t.Fatalf("exec ended early: %+v", r)
		case <-time.After(10 * time.Second):
			t.Fatal("no output from exec")
		}
		return ""
	}
	if l := next(); l != "ready 24x80" {
		t.Fatalf("first line %q, want the size of the terminal", l)
	}
	if canonical() {
		t.Error("the terminal is not raw while exec runs")
	}
	if err := pty.Resize(console.WinSize{Height: 30, Width: 100}); err != nil {
		t.Fatal(err)
	}
	// quiltctl may not watch SIGWINCH yet: send it until the resize shows.
	stop := make(chan struct{})
	go func() {
		for {
			syscall.Kill(os.Getpid(), syscall.SIGWINCH)
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	l := next()
	close(stop)
	if l != "resized 30x100" {
		t.Fatalf("line %q, want the new size", l)
	}
	// In raw mode ^C is a byte for the command, not a signal for quiltctl.
	if _, err := pty.Write([]byte("hi\x03\r")); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("exec did not end")
	}
	if r.code != 7 || r.stderr != "" {
		t.Errorf("exec -it = (%q, %d), want the command's status 7", r.stderr, r.code)
	}
	if got := next(); got != "got hi\x03" {
		t.Errorf("the command got %q, want the keys unchanged", got)
	}
	if !canonical() {
		t.Error("the terminal was not restored")
	}
	var resizes int
	for _, req := range recorded[*quiltv1.ExecRequest](f) {
		if req.GetResize() != nil {
			resizes++
		}
	}
	if resizes == 0 {
		t.Error("no resize request recorded")
	}
}
