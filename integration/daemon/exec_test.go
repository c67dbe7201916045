package daemon_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// exec runs a process in a container and returns its stdout+stderr and
// exit code.
func (d *daemon) exec(t *testing.T, id string, args ...string) (string, int32) {
	t.Helper()
	out, code := d.execStart(t, &quiltv1.ExecStart{Id: id, Args: args}, nil)
	return out, code
}

func (d *daemon) execStart(t *testing.T, start *quiltv1.ExecStart, input []*quiltv1.ExecRequest) (string, int32) {
	t.Helper()
	stream, err := d.ctrs.Exec(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_Start{Start: start}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range input {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			t.Fatalf("exec %v: the stream ended without an exit code (output %q)", start.Args, out.String())
		}
		if err != nil {
			t.Fatalf("exec %v: %v", start.Args, err)
		}
		switch k := msg.Kind.(type) {
		case *quiltv1.ExecResponse_Stdout:
			out.Write(k.Stdout)
		case *quiltv1.ExecResponse_Stderr:
			out.Write(k.Stderr)
		case *quiltv1.ExecResponse_ExitCode:
			return out.String(), k.ExitCode
		}
	}
}

func TestExec(t *testing.T) {
	d := startDaemon(t)
	cfg := argv("sleep", "60")
	cfg.Env = []string{"FROM_CONTAINER=1"}
	cfg.User = "user"
	c := d.runDetached(t, cfg)
	// Two pipes: their order across stdout and stderr is not kept.
	if out, code := d.exec(t, c.Id, "sh", "-c", "echo out; echo err >&2; exit 5"); (out != "out\nerr\n" && out != "err\nout\n") || code != 5 {
		t.Errorf("exec: %q %d", out, code)
	}
	// The container's user, env and cwd by default; overrides.
	if out, _ := d.exec(t, c.Id, "sh", "-c", `id -u; echo $FROM_CONTAINER; pwd`); out != "1000\n1\n/\n" {
		t.Errorf("defaults: %q", out)
	}
	out, _ := d.execStart(t, &quiltv1.ExecStart{Id: c.Id, Args: []string{"sh", "-c", `id -u; id -G; echo $X; pwd`},
		User: "root", Env: []string{"X=y"}, Workdir: "/tmp"}, nil)
	if out != "0\n0\ny\n/tmp\n" {
		t.Errorf("overrides: %q", out)
	}
	// stdin
	out, code := d.execStart(t, &quiltv1.ExecStart{Id: c.Id, Args: []string{"sh", "-c", "tr a-z A-Z; echo done"}, Stdin: true},
		[]*quiltv1.ExecRequest{{Kind: &quiltv1.ExecRequest_Stdin{Stdin: []byte("hello\n")}}})
	if out != "HELLO\ndone\n" || code != 0 {
		t.Errorf("stdin: %q %d", out, code)
	}
	// tty
	out, code = d.execStart(t, &quiltv1.ExecStart{Id: c.Id, Args: []string{"sh", "-c", "/bin/testinit isatty; stty size"}, Tty: true,
		Size: &quiltv1.TerminalSize{Rows: 33, Cols: 101}}, nil)
	if !strings.Contains(out, "stdin=tty stdout=tty") || !strings.Contains(out, "33 101") || code != 0 {
		t.Errorf("tty: %q %d", out, code)
	}
	// not found: 127 with the reason
	if out, code := d.exec(t, c.Id, "nosuch"); code != 127 || !strings.Contains(out, "nosuch") {
		t.Errorf("missing command: %q %d", out, code)
	}
	// exec into an exited container is refused
	if _, err := d.ctrs.Stop(ctx(t), &quiltv1.StopRequest{Id: c.Id}); err != nil {
		t.Fatal(err)
	}
	stream, err := d.ctrs.Exec(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_Start{Start: &quiltv1.ExecStart{Id: c.Id, Args: []string{"true"}}}})
	_, err = stream.Recv()
	wantCode(t, err, codes.FailedPrecondition, "not running")
}

func TestLogs(t *testing.T) {
	d := startDaemon(t)
	c := d.runDetached(t, sh(`echo one; echo two >&2; sleep 0.3; echo three; printf partial`))
	if w, err := d.ctrs.Wait(ctx(t), &quiltv1.WaitRequest{Id: c.Id}); err != nil || w.ExitCode != 0 {
		t.Fatalf("wait: %v %v", w, err)
	}
	all := d.logs(t, &quiltv1.LogsRequest{Id: c.Id})
	// stdout and stderr are separate pipes: their order across the two
	// streams is not kept, within each it is.
	if all != "one\ntwo\nthree\npartial" && all != "two\none\nthree\npartial" {
		t.Errorf("logs: %q", all)
	}
	if got := d.logs(t, &quiltv1.LogsRequest{Id: c.Id, Stdout: true}); got != "one\nthree\npartial" {
		t.Errorf("stdout only: %q", got)
	}
	if got := d.logs(t, &quiltv1.LogsRequest{Id: c.Id, Stderr: true}); got != "two\n" {
		t.Errorf("stderr only: %q", got)
	}
	n := int64(2)
	if got := d.logs(t, &quiltv1.LogsRequest{Id: c.Id, Tail: &n}); got != "three\npartial" {
		t.Errorf("tail 2: %q", got)
	}
	// since: the first lines came 0.3 s before "three"
	stream, err := d.ctrs.Logs(ctx(t), &quiltv1.LogsRequest{Id: c.Id})
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for {
		e, err := stream.Recv()
		if err != nil {
			break
		}
		times = append(times, e.Time.AsTime())
	}
	if len(times) != 4 || times[2].Sub(times[0]) < 250*time.Millisecond {
		t.Fatalf("timestamps: %v", times)
	}
	since := times[2].Add(-time.Millisecond)
	if got := d.logs(t, &quiltv1.LogsRequest{Id: c.Id, Since: timestamppbNew(since)}); got != "three\npartial" {
		t.Errorf("since: %q", got)
	}
	// follow: lines as they come, ending when the container exits
	c = d.runDetached(t, sh(`for i in 1 2 3; do echo $i; sleep 0.2; done`))
	start := time.Now()
	if got := d.logs(t, &quiltv1.LogsRequest{Id: c.Id, Follow: true}); got != "1\n2\n3\n" || time.Since(start) < 400*time.Millisecond {
		t.Errorf("follow: %q after %v", got, time.Since(start))
	}
}
