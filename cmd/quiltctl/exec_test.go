package main

import (
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestExec(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	for _, tc := range []struct {
		name           string
		args           []string
		stdin          string
		stdout, stderr string
		code           int
		start          *quiltv1.ExecStart
	}{
		{
			name: "stdin streamed with -i", args: []string{"exec", "-i", "web", "cat"},
			stdin: "hello\nworld", stdout: "hello\nworld",
			start: &quiltv1.ExecStart{Id: "web", Args: []string{"cat"}, Stdin: true},
		},
		{
			name: "no stdin without -i", args: []string{"exec", "web", "cat"},
			stdin: "ignored",
			start: &quiltv1.ExecStart{Id: "web", Args: []string{"cat"}},
		},
		{
			name: "exit code and stderr pass through", args: []string{"exec", "-e", "A=1", "-w", "/tmp", "-u", "nobody", "web", "--", "exit", "5"},
			stderr: "bye\n", code: 5,
			start: &quiltv1.ExecStart{Id: "web", Args: []string{"exit", "5"}, Env: []string{"A=1"}, Workdir: "/tmp", User: "nobody"},
		},
		{
			name: "terminal without a local one", args: []string{"exec", "-t", "web", "size"},
			stdout: "true 0x0\n",
			start:  &quiltv1.ExecStart{Id: "web", Args: []string{"size"}, Tty: true},
		},
		{
			name: "command not found", args: []string{"exec", "web", "nope"},
			stderr: "quiltctl: exec nope: executable file not found in $PATH\n", code: 1,
			start: &quiltv1.ExecStart{Id: "web", Args: []string{"nope"}},
		},
		{
			name: "stopped container", args: []string{"exec", "job", "cat"},
			stderr: "quiltctl: container job is not running\n", code: 1,
			start: &quiltv1.ExecStart{Id: "job", Args: []string{"cat"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(recorded[*quiltv1.ExecRequest](f))
			stdout, stderr, code := quiltctl(t, sock, strings.NewReader(tc.stdin), tc.args...)
			if stdout != tc.stdout || stderr != tc.stderr || code != tc.code {
				t.Errorf("= (%q, %q, %d), want (%q, %q, %d)", stdout, stderr, code, tc.stdout, tc.stderr, tc.code)
			}
			reqs := recorded[*quiltv1.ExecRequest](f)[before:]
			if len(reqs) == 0 || !proto.Equal(reqs[0].GetStart(), tc.start) {
				t.Fatalf("requests %v, want start %v first", reqs, tc.start)
			}
			if tc.start.Stdin {
				last := reqs[len(reqs)-1]
				if !last.GetCloseStdin() {
					t.Errorf("last request %v, want close_stdin after stdin's end", last)
				}
			}
		})
	}
}

// -i -t needs a terminal to put in raw mode, as docker says.
func TestExecInteractiveTerminalNeedsTerminal(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	_, stderr, code := quiltctl(t, sock, strings.NewReader(""), "exec", "-it", "web", "sh")
	if code != 1 || stderr != "quiltctl: "+errNotTerminal.Error()+"\n" {
		t.Errorf("exec -it from a pipe = (%q, %d)", stderr, code)
	}
}

// A stdin larger than one message arrives whole and in order.
func TestExecLargeStdin(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	input := strings.Repeat("0123456789abcdef", 20000)
	stdout, stderr, code := quiltctl(t, sock, io.MultiReader(strings.NewReader(input)), "exec", "-i", "web", "cat")
	if code != 0 || stdout != input {
		t.Errorf("exec -i cat of %d bytes = (%d bytes, %q, %d)", len(input), len(stdout), stderr, code)
	}
}

func TestLogs(t *testing.T) {
	f, sock := startFake(t)
	threeContainers(f)
	for _, tc := range []struct {
		args           []string
		stdout, stderr string
		req            *quiltv1.LogsRequest
	}{
		{[]string{"logs", "web"}, "one\nthree\n", "two\n", &quiltv1.LogsRequest{Id: "web"}},
		{[]string{"logs", "-f", "--tail", "2", "web"}, "three\n", "", &quiltv1.LogsRequest{Id: "web", Follow: true, Tail: proto.Int64(2)}},
		{
			[]string{"logs", "--timestamps", "web"},
			"2026-11-28T13:50:00.000005000Z one\n2026-11-28T13:50:02.000005000Z three\n",
			"2026-11-28T13:50:01.000005000Z two\n",
			&quiltv1.LogsRequest{Id: "web"},
		},
	} {
		stdout, stderr, code := quiltctl(t, sock, nil, tc.args...)
		if stdout != tc.stdout || stderr != tc.stderr || code != 0 {
			t.Errorf("quiltctl %q = (%q, %q, %d), want (%q, %q, 0)", tc.args, stdout, stderr, code, tc.stdout, tc.stderr)
		}
		reqs := recorded[*quiltv1.LogsRequest](f)
		if !proto.Equal(reqs[len(reqs)-1], tc.req) {
			t.Errorf("quiltctl %q sent %v, want %v", tc.args, reqs[len(reqs)-1], tc.req)
		}
	}
	_, stderr, code := quiltctl(t, sock, nil, "logs", "--since", "yesterday", "web")
	if code != 1 || !strings.HasPrefix(stderr, `quiltctl: --since "yesterday": not a time`) {
		t.Errorf("logs --since yesterday = (%q, %d)", stderr, code)
	}
	if _, _, code := quiltctl(t, sock, nil, "logs", "--since", "2026-11-28T13:50:00Z", "web"); code != 0 {
		t.Errorf("logs --since RFC 3339: status %d", code)
	}
	reqs := recorded[*quiltv1.LogsRequest](f)
	if got := reqs[len(reqs)-1].GetSince().AsTime().Unix(); got != 1795873800 {
		t.Errorf("since %d, want 1795873800", got)
	}
}
