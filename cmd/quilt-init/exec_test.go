package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/daemon/initproto"
)

var testEnv = []string{"PATH=/usr/bin:/bin", "GREETING=hello"}

// agentInit starts a quilt-init whose command sleeps, for exec tests.
func agentInit(t testing.TB) *initProc {
	t.Helper()
	return startInit(t, initOpts{}, "sleep", "60")
}

// output collects a process's output in the background.
type output struct {
	mu       sync.Mutex
	out, err strings.Builder
	changed  chan struct{}
	done     chan error
}

// collect starts reading p's output.
func collect(p *initproto.Process) *output {
	o := &output{changed: make(chan struct{}, 1), done: make(chan error, 1)}
	go func() {
		o.done <- p.Output(func(s initproto.Stream, b []byte) error {
			o.mu.Lock()
			if s == initproto.Stdout {
				o.out.Write(b)
			} else {
				o.err.Write(b)
			}
			o.mu.Unlock()
			select {
			case o.changed <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	return o
}

func (o *output) stdout() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String()
}

func (o *output) stderr() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err.String()
}

// waitFor waits until stdout holds want.
func (o *output) waitFor(t testing.TB, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for !strings.Contains(o.stdout(), want) {
		select {
		case <-o.changed:
		case err := <-o.done:
			o.done <- err
			if !strings.Contains(o.stdout(), want) {
				t.Fatalf("output ended (%v) without %q: %q", err, want, o.stdout())
			}
		case <-timeout:
			t.Fatalf("no %q in output %q", want, o.stdout())
		}
	}
}

// start dials the agent of p and starts req; the client is closed at
// cleanup.
func start(t testing.TB, p *initProc, req initproto.ExecRequest) (*initproto.Client, *initproto.Process, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := initproto.Dial(ctx, p.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	proc, err := c.Start(req)
	return c, proc, err
}

// execute starts req, waits for it and returns its output and exit code.
func execute(t testing.TB, p *initProc, req initproto.ExecRequest) (stdout, stderr string, code int) {
	t.Helper()
	_, proc, err := start(t, p, req)
	if err != nil {
		t.Fatal(err)
	}
	o := collect(proc)
	if err := <-o.done; err != nil {
		t.Fatal(err)
	}
	code, err = proc.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return o.stdout(), o.stderr(), code
}

func TestExec(t *testing.T) {
	p := agentInit(t)
	dir := t.TempDir()
	cases := []struct {
		name           string
		req            initproto.ExecRequest
		stdout, stderr string
		code           int
		root           bool
	}{
		{name: "output and exit code", req: initproto.ExecRequest{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, Env: testEnv},
			stdout: "out\n", stderr: "err\n", code: 3},
		{name: "env and cwd", req: initproto.ExecRequest{Args: []string{"sh", "-c", `echo "$GREETING"; pwd`}, Env: testEnv, Cwd: dir},
			stdout: "hello\n" + dir + "\n"},
		{name: "user", req: initproto.ExecRequest{Args: []string{"sh", "-c", "id -u; id -g; id -G"}, Env: testEnv, UID: 65534, GID: 65534, Groups: []uint32{65533}},
			stdout: "65534\n65534\n65534 65533\n", root: true},
		{name: "root keeps root", req: initproto.ExecRequest{Args: []string{"id", "-u"}, Env: testEnv}, stdout: strconv.Itoa(os.Getuid()) + "\n"},
		{name: "no inherited fds", req: initproto.ExecRequest{Args: []string{"sh", "-c",
			`readlink /proc/$$/fd/0; for fd in 3 4 5 6 7; do [ -e /proc/$$/fd/$fd ] && echo "fd $fd open"; done; echo checked`}, Env: testEnv},
			stdout: "/dev/null\nchecked\n"},
		{name: "own process group", req: initproto.ExecRequest{Args: []string{"sh", "-c", `[ "$(ps -o pgid= $$ | tr -d ' ')" = $$ ] && echo leader`}, Env: testEnv},
			stdout: "leader\n"},
		{name: "killed", req: initproto.ExecRequest{Args: []string{"sh", "-c", "kill -KILL $$"}, Env: testEnv}, code: 137},
		{name: "large output", req: initproto.ExecRequest{Args: []string{"sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x"}, Env: testEnv},
			stdout: strings.Repeat("x", 1000000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Getuid() != 0 {
				t.Skip("needs root")
			}
			stdout, stderr, code := execute(t, p, tc.req)
			if stdout != tc.stdout || stderr != tc.stderr || code != tc.code {
				t.Errorf("got stdout %.100q, stderr %q, code %d; want %.100q, %q, %d", stdout, stderr, code, tc.stdout, tc.stderr, tc.code)
			}
		})
	}
}

func TestExecStdin(t *testing.T) {
	p := agentInit(t)
	_, proc, err := start(t, p, initproto.ExecRequest{Args: []string{"sh", "-c", "read line; echo got $line; cat; echo end"}, Env: testEnv, Stdin: true})
	if err != nil {
		t.Fatal(err)
	}
	o := collect(proc)
	proc.Write([]byte("first\n"))
	o.waitFor(t, "got first\n")
	big := strings.Repeat("y", 300000)
	if _, err := proc.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := proc.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	if code, err := proc.Wait(); code != 0 || err != nil {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	if want := "got first\n" + big + "end\n"; o.stdout() != want {
		t.Errorf("stdout %d bytes, want %d", len(o.stdout()), len(want))
	}
}

func TestExecTTY(t *testing.T) {
	p := agentInit(t)
	stty := []string{"stty"}
	if _, err := os.Stat("/bin/busybox"); err == nil {
		stty = []string{"/bin/busybox", "stty"}
	}
	script := `[ -t 0 ] && [ -t 1 ] && echo tty; ` + strings.Join(stty, " ") + ` size; read x; ` + strings.Join(stty, " ") + ` size; echo "[$x]"`
	_, proc, err := start(t, p, initproto.ExecRequest{Args: []string{"sh", "-c", script}, Env: testEnv, TTY: true, Stdin: true, Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	o := collect(proc)
	o.waitFor(t, "tty\r\n30 100\r\n")
	if err := proc.Resize(40, 120); err != nil {
		t.Fatal(err)
	}
	// Resize takes effect before the input that follows it.
	proc.Write([]byte("typed\n"))
	o.waitFor(t, "40 120\r\n[typed]\r\n")
	if code, err := proc.Wait(); code != 0 || err != nil {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	if o.stderr() != "" {
		t.Errorf("stderr %q: a terminal has no separate stderr", o.stderr())
	}
}

func TestExecSignal(t *testing.T) {
	p := agentInit(t)
	_, proc, err := start(t, p, initproto.ExecRequest{Args: []string{"sh", "-c", `trap 'echo trapped; exit 9' USR1; echo ready; while :; do sleep 0.02; done`}, Env: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	o := collect(proc)
	o.waitFor(t, "ready\n")
	if err := proc.Signal(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if code, err := proc.Wait(); code != 9 || err != nil {
		t.Errorf("Wait = %d, %v; want 9", code, err)
	}
	if o.stdout() != "ready\ntrapped\n" {
		t.Errorf("stdout %q", o.stdout())
	}
}

func TestExecStartFailure(t *testing.T) {
	p := agentInit(t)
	cases := []struct {
		args    []string
		kind    error
		message string
	}{
		{[]string{"nosuch"}, initproto.ErrNotFound, `exec "nosuch": executable file not found in $PATH`},
		{[]string{"/etc/passwd"}, initproto.ErrNotExecutable, `exec "/etc/passwd": not executable: permission denied`},
		{[]string{"/"}, initproto.ErrNotExecutable, `exec "/": not executable: permission denied`},
	}
	for _, tc := range cases {
		_, _, err := start(t, p, initproto.ExecRequest{Args: tc.args, Env: testEnv})
		if !errors.Is(err, tc.kind) || err.Error() != tc.message {
			t.Errorf("Start(%q): %v, want %q (%v)", tc.args, err, tc.message, tc.kind)
		}
	}
	// The agent still serves.
	if out, _, code := execute(t, p, initproto.ExecRequest{Args: []string{"echo", "alive"}, Env: testEnv}); out != "alive\n" || code != 0 {
		t.Errorf("after failures: %q, %d", out, code)
	}
}

func TestExecConcurrent(t *testing.T) {
	p := agentInit(t)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := strconv.Itoa(i)
			out, _, code := execute(t, p, initproto.ExecRequest{Args: []string{"sh", "-c", "sleep 0.1; echo $1; exit $1", "sh", s}, Env: testEnv})
			if out != s+"\n" || code != i {
				t.Errorf("exec %d: stdout %q, code %d", i, out, code)
			}
		})
	}
	wg.Wait()
}

// TestExecDisconnect: when the client goes away, the process and its
// children are killed.
func TestExecDisconnect(t *testing.T) {
	p := agentInit(t)
	c, proc, err := start(t, p, initproto.ExecRequest{Args: []string{"sh", "-c", "sleep 100 & echo $!; wait"}, Env: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	o := collect(proc)
	o.waitFor(t, "\n")
	child, err := strconv.Atoi(strings.TrimSpace(o.stdout()))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, pid := range []int{proc.Pid, child} {
		gone := false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if unix.Kill(pid, 0) == unix.ESRCH {
				gone = true
				break
			}
		}
		if !gone {
			t.Errorf("process %d still exists after the client left", pid)
		}
	}
}
