package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cmdTimeout bounds every client command, and waitTimeout every wait for a
// state. Both are generous: the machines are small and shared; the happy
// path never waits for them.
const (
	cmdTimeout  = 2 * time.Minute
	waitTimeout = time.Minute
)

// cleanupReserve is the time kept, before the deadline of `go test
// -timeout`, for the cleanups: commands and waits are cut short so that the
// daemons are always stopped and their mounts, cgroups and links removed.
const cleanupReserve = 90 * time.Second

// limit is d, or less when the test's deadline is near (but at least 10 s,
// which a cleanup's commands get).
func limit(t *testing.T, d time.Duration) time.Duration {
	if dl, ok := t.Deadline(); ok {
		if rem := time.Until(dl) - cleanupReserve; rem < d {
			d = max(rem, 10*time.Second)
		}
	}
	return d
}

// tool is a client's command line: the binary with its fixed leading
// arguments (socket, namespace, config) and environment.
type tool struct {
	bin  string
	args []string
	env  []string // added to the test's environment
	dir  string   // working directory; the work directory of the client
}

// result is a finished command.
type result struct {
	cmdline string
	code    int // exit status; -1 when it did not exit normally
	stdout  string
	stderr  string
	err     error // it could not start, or ran out of time
}

func (r result) String() string {
	s := fmt.Sprintf("%s: exit %d", r.cmdline, r.code)
	if r.err != nil {
		s += fmt.Sprintf(" (%v)", r.err)
	}
	return s + fmt.Sprintf("\nstdout: %q\nstderr: %q", clip(r.stdout), clip(r.stderr))
}

// out is stdout without the surrounding white space.
func (r result) out() string { return strings.TrimSpace(r.stdout) }

// clip keeps the end of a long output for a failure message.
func clip(s string) string {
	const keep = 4000
	if len(s) > keep {
		return "..." + s[len(s)-keep:]
	}
	return s
}

func (c tool) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append(append([]string(nil), c.args...), args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Dir = c.dir
	// A client that leaves a child holding its stdout must not hang Wait.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (c tool) cmdline(args []string) string {
	return strings.Join(append(append([]string{c.bin}, c.args...), args...), " ")
}

// run runs the client with args to its end.
func (c tool) run(t *testing.T, args ...string) result {
	t.Helper()
	return c.runInput(t, "", args...)
}

// runInput runs the client with args and stdin as its standard input.
func (c tool) runInput(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit(t, cmdTimeout))
	defer cancel()
	cmd := c.command(ctx, args)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return finish(ctx, c.cmdline(args), cmd, err, stdout.String(), stderr.String())
}

func finish(ctx context.Context, cmdline string, cmd *exec.Cmd, err error, stdout, stderr string) result {
	r := result{cmdline: cmdline, code: -1, stdout: stdout, stderr: stderr}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.err = fmt.Errorf("timed out: %w", ctx.Err())
	case err != nil && !errors.As(err, &exitErr):
		r.err = err
	}
	return r
}

// ok runs the client and fails the test unless it exits 0; it returns the
// trimmed stdout.
func (c tool) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := c.run(t, args...)
	if r.code != 0 || r.err != nil {
		t.Fatalf("%v", r)
	}
	return r.out()
}

// background is a client command running while the test goes on.
type background struct {
	cmdline string
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	stdout  syncBuffer
	stderr  syncBuffer
	done    chan struct{}
	err     error
}

// start starts the client with args in the background; the test's cleanup
// kills it if it still runs.
func (c tool) start(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit(t, 2*cmdTimeout))
	b := &background{cmdline: c.cmdline(args), cancel: cancel, done: make(chan struct{})}
	b.cmd = c.command(ctx, args)
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", b.cmdline, err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// wait waits for the command's end and returns its result.
func (b *background) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(limit(t, cmdTimeout)):
		b.cancel()
		<-b.done
		r := result{cmdline: b.cmdline, code: -1, stdout: b.stdout.String(), stderr: b.stderr.String()}
		t.Fatalf("did not end in time: %v", r)
	}
	r := result{cmdline: b.cmdline, code: b.cmd.ProcessState.ExitCode(), stdout: b.stdout.String(), stderr: b.stderr.String()}
	var exitErr *exec.ExitError
	if b.err != nil && !errors.As(b.err, &exitErr) {
		r.err = b.err
	}
	return r
}

// syncBuffer is a bytes.Buffer that a running command writes while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// runTTY runs the client with a new pseudo-terminal as its controlling
// terminal and stdin, stdout and stderr, as an interactive shell would.
// The result's stdout is all the terminal showed, without carriage returns.
func (c tool) runTTY(t *testing.T, args ...string) result {
	t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit(t, cmdTimeout))
	defer cancel()
	cmd := c.command(ctx, args)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		t.Fatalf("%s: %v", c.cmdline(args), err)
	}
	var out syncBuffer
	read := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, master) // ends with EIO once no process holds the terminal
		close(read)
	}()
	err = cmd.Wait()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
	}
	text := strings.ReplaceAll(out.String(), "\r", "")
	return finish(ctx, c.cmdline(args), cmd, err, text, "")
}

// openPTY opens a new pseudo-terminal pair of 80x24.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var n int
	rc, err := master.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err == nil {
				n, err = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
			}
		})
		if err == nil {
			err = cerr
		}
	}
	if err == nil {
		slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err == nil {
		err = unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	}
	if err != nil {
		master.Close()
		if slave != nil {
			slave.Close()
		}
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	return master, slave, nil
}

// waitFor polls cond until it holds, and fails the test after timeout with
// what it last saw.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	timeout = limit(t, timeout)
	if ok, seen := poll(timeout, cond); !ok {
		t.Fatalf("%s: not after %v; last seen: %s", what, timeout, seen)
	}
}

// poll calls cond until it holds or timeout passes, and returns the last
// result.
func poll(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	delay := 50 * time.Millisecond
	for {
		done, seen := cond()
		if done || time.Now().After(deadline) {
			return done, seen
		}
		time.Sleep(delay)
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}
