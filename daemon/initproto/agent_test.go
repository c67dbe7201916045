package initproto

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startAgent serves exec requests in this process, on a socket in a
// private directory, with a reaper driven by SIGCHLD as in quilt-init. The
// test binary starts no other children, so reaping any child is safe.
// configure, if any, adjusts the agent before it serves.
func startAgent(t *testing.T, configure ...func(*agent)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 64); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	ln := OpenAgent(fd)
	if ln == nil {
		unix.Close(fd)
		t.Fatal("OpenAgent: not a listening socket")
	}
	r := newReaper()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
				r.reap()
			case <-stop:
				return
			}
		}
	}()
	a := newAgent(r)
	for _, f := range configure {
		f(a)
	}
	served := make(chan error, 1)
	go func() { served <- a.serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		<-served
		signal.Stop(sigs)
		close(stop)
	})
	return path
}

// execResult is what a process started through the agent did.
type execResult struct {
	stdout, stderr string
	code           int
}

// execute starts req through the agent at path, feeds it stdin (closing
// its input after) and waits for it.
func execute(t *testing.T, path string, req ExecRequest, stdin string) (execResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	context.AfterFunc(ctx, func() { c.Close() })
	p, err := c.Start(req)
	if err != nil {
		return execResult{}, err
	}
	if p.Pid <= 0 {
		t.Errorf("pid %d", p.Pid)
	}
	if req.Stdin {
		if _, err := p.Write([]byte(stdin)); err != nil {
			t.Error(err)
		}
		if err := p.CloseStdin(); err != nil {
			t.Error(err)
		}
	}
	var res execResult
	var out, errOut strings.Builder
	err = p.Output(func(s Stream, b []byte) error {
		if s == Stdout {
			out.Write(b)
		} else {
			errOut.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res.code, err = p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	res.stdout, res.stderr = out.String(), errOut.String()
	return res, nil
}

func TestAgentExec(t *testing.T) {
	path := startAgent(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	if err := os.WriteFile(text, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/bin:/bin", "GREETING=hi"}
	cases := []struct {
		name    string
		req     ExecRequest
		stdin   string
		want    execResult
		wantErr error  // ErrNotFound, ErrNotExecutable, or errAny
		errText string // the error message, when set
	}{
		{name: "output and code", req: ExecRequest{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 5"}, Env: env},
			want: execResult{stdout: "out\n", stderr: "err\n", code: 5}},
		{name: "env and cwd", req: ExecRequest{Args: []string{"sh", "-c", `echo "$GREETING"; pwd`}, Env: env, Cwd: dir},
			want: execResult{stdout: "hi\n" + dir + "\n"}},
		{name: "cwd defaults to /", req: ExecRequest{Args: []string{"pwd"}, Env: env}, want: execResult{stdout: "/\n"}},
		{name: "default PATH", req: ExecRequest{Args: []string{"true"}}},
		{name: "stdin", req: ExecRequest{Args: []string{"cat"}, Env: env, Stdin: true}, stdin: "line1\nline2",
			want: execResult{stdout: "line1\nline2"}},
		{name: "large stdin", req: ExecRequest{Args: []string{"wc", "-c"}, Env: env, Stdin: true}, stdin: strings.Repeat("x", 200000),
			want: execResult{stdout: "200000\n"}},
		{name: "no stdin is /dev/null", req: ExecRequest{Args: []string{"cat"}, Env: env}},
		{name: "killed by a signal", req: ExecRequest{Args: []string{"sh", "-c", "kill -9 $$"}, Env: env}, want: execResult{code: 137}},
		{name: "not found", req: ExecRequest{Args: []string{"nosuch"}, Env: env}, wantErr: ErrNotFound,
			errText: `exec "nosuch": executable file not found in $PATH`},
		{name: "absolute path not found", req: ExecRequest{Args: []string{"/nosuch"}, Env: env}, wantErr: ErrNotFound},
		{name: "not executable", req: ExecRequest{Args: []string{text}, Env: env}, wantErr: ErrNotExecutable},
		{name: "a directory", req: ExecRequest{Args: []string{dir}, Env: env}, wantErr: ErrNotExecutable},
		{name: "empty command", req: ExecRequest{Env: env}, wantErr: ErrNotFound},
		{name: "bad cwd", req: ExecRequest{Args: []string{"true"}, Env: env, Cwd: "/nonexistent"}, wantErr: errAny,
			errText: `exec "true": working directory /nonexistent: no such file or directory`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := execute(t, path, tc.req, tc.stdin)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Start: %v", err)
			case tc.wantErr == errAny && err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNotExecutable):
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Start: %v, want %v", err, tc.wantErr)
			}
			if tc.errText != "" && (err == nil || err.Error() != tc.errText) {
				t.Errorf("error %q, want %q", err, tc.errText)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

var errAny = errors.New("any other error")

func TestAgentSignalAndDisconnect(t *testing.T) {
	path := startAgent(t)
	start := func() (*Client, *Process) {
		c, err := Dial(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		p, err := c.Start(ExecRequest{Args: []string{"sleep", "100"}, Env: []string{"PATH=/bin:/usr/bin"}})
		if err != nil {
			t.Fatal(err)
		}
		return c, p
	}
	t.Run("signal", func(t *testing.T) {
		_, p := start()
		if err := p.Signal(unix.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code, err := p.Wait(); code != 128+15 || err != nil {
			t.Errorf("Wait = %d, %v; want 143", code, err)
		}
	})
	t.Run("disconnect kills", func(t *testing.T) {
		c, p := start()
		c.Close()
		waitGone(t, p.Pid)
	})
	t.Run("protocol error kills", func(t *testing.T) {
		c, p := start()
		c.conn.Write(appendFrame(nil, 'Z', nil))
		if code, err := p.Wait(); code != 128+9 || err != nil {
			t.Errorf("Wait = %d, %v; want 137: killed", code, err)
		}
	})
	t.Run("start twice", func(t *testing.T) {
		c, p := start()
		if _, err := c.Start(ExecRequest{Args: []string{"true"}}); !errors.Is(err, ErrStarted) {
			t.Errorf("second Start: %v", err)
		}
		p.Signal(unix.SIGKILL)
		p.Wait()
	})
}

// waitGone waits until pid no longer exists (killed and reaped).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := unix.Kill(pid, 0); err == unix.ESRCH {
			return
		}
	}
	t.Errorf("process %d still exists", pid)
}

// TestAgentRejectsBadStart sends a first frame that is no valid request.
func TestAgentRejectsBadStart(t *testing.T) {
	path := startAgent(t)
	for name, frame := range map[string][]byte{
		"not a start frame": appendFrame(nil, frameStdin, []byte("x")),
		"bad request":       appendFrame(nil, frameStart, []byte{requestVersion + 1}),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Dial(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.conn.Write(frame)
			var buf []byte
			typ, p, err := readFrame(c.conn, &buf)
			if err != nil || typ != frameFailed || len(p) < 2 || p[0] != failOther {
				t.Fatalf("reply %q %q, %v; want a failure", typ, p, err)
			}
		})
	}
}

// TestAgentDropsSilentClient: a connection that sends no request is
// closed after the agent's startTimeout.
func TestAgentDropsSilentClient(t *testing.T) {
	path := startAgent(t, func(a *agent) { a.startTimeout = 100 * time.Millisecond })
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.conn.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read = %d, %v; want the agent to close the connection", n, err)
	}
}
