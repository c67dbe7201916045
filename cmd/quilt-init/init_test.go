package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quilt-runtime/quilt/daemon/initproto"
)

func TestLog(t *testing.T) {
	p := startInit(t, initOpts{}, "sh", "-c",
		`echo out1; echo err1 >&2; echo out2; echo err2 >&2
		head -c 20000 /dev/zero | tr '\0' a; echo
		printf 'no newline'`)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	long := strings.Repeat("a", 20000)
	want := map[initproto.Stream][]string{
		initproto.Stdout: {"F out1\n", "F out2\n", "P " + long[:initproto.MaxRecord], "F " + long[initproto.MaxRecord:] + "\n", "P no newline"},
		initproto.Stderr: {"F err1\n", "F err2\n"},
	}
	got := map[initproto.Stream][]string{}
	last := map[initproto.Stream]time.Time{}
	for _, e := range p.entries(t) {
		tag := "F "
		if e.Partial {
			tag = "P "
		}
		got[e.Stream] = append(got[e.Stream], tag+string(e.Data))
		if e.Time.Before(last[e.Stream]) {
			t.Errorf("%s: record at %v after one at %v", e.Stream, e.Time, last[e.Stream])
		}
		last[e.Stream] = e.Time
		if since := time.Since(e.Time); since < 0 || since > time.Minute {
			t.Errorf("record time %v is not now", e.Time)
		}
	}
	for s, lines := range want {
		if strings.Join(got[s], "|") != strings.Join(lines, "|") {
			t.Errorf("%s records:\n%.200q\nwant:\n%.200q", s, got[s], lines)
		}
	}
}

// TestLogIsImmediate checks that a line reaches the log while the command
// still runs, with no buffering delay.
func TestLogIsImmediate(t *testing.T) {
	p := startInit(t, initOpts{}, "sh", "-c", "echo first; sleep 30")
	start := time.Now()
	p.waitLog(t, initproto.Stdout, "first\n")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the line took %v to reach the log", d)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	if err := os.WriteFile(text, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		cmd        []string
		code, sig  int
		started    bool
		stderrWant string // a log record of quilt-init's
	}{
		{"zero", []string{"true"}, 0, 0, true, ""},
		{"three", []string{"sh", "-c", "exit 3"}, 3, 0, true, ""},
		{"killed", []string{"sh", "-c", "kill -9 $$"}, 137, 9, true, ""},
		{"terminated", []string{"sh", "-c", "kill -TERM $$"}, 143, 15, true, ""},
		{"not found", []string{"nosuch"}, 127, 0, false, `quilt-init: exec "nosuch": executable file not found in $PATH` + "\n"},
		{"not executable", []string{text}, 126, 0, false, `quilt-init: exec "` + text + `": not executable: permission denied` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startInit(t, initOpts{}, tc.cmd...)
			code := p.wait(t)
			st := p.status(t)
			if code != tc.code || st.ExitCode != tc.code || st.Signal != tc.sig {
				t.Errorf("exit code %d, status %+v; want code %d signal %d", code, st, tc.code, tc.sig)
			}
			if (st.Pid > 0) != tc.started {
				t.Errorf("status pid %d", st.Pid)
			}
			if since := time.Since(st.Finished); since < 0 || since > time.Minute {
				t.Errorf("finished %v is not now", st.Finished)
			}
			if got := p.logText(t, initproto.Stderr); got != tc.stderrWant {
				t.Errorf("stderr log %q, want %q", got, tc.stderrWant)
			}
		})
	}
}

// TestExitStatusFile checks the JSON quilt-init writes, as written.
func TestExitStatusFile(t *testing.T) {
	p := startInit(t, initOpts{}, "sh", "-c", "exit 42")
	p.wait(t)
	b, err := os.ReadFile(p.statusPath)
	if err != nil {
		t.Fatal(err)
	}
	st := p.status(t)
	want := `{"exitCode":42,"pid":` + strconv.Itoa(st.Pid) + `,"finished":"` + st.Finished.Format(time.RFC3339Nano) + `"}`
	if string(b) != want {
		t.Errorf("status file %s, want %s", b, want)
	}
}

func TestSignalForwarding(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			name := strings.TrimPrefix(strings.ToUpper(sigName(sig)), "SIG")
			p := startInit(t, initOpts{}, "sh", "-c",
				`trap 'echo got `+name+`; exit 7' `+name+`; echo ready; while :; do sleep 0.02; done`)
			p.waitLog(t, initproto.Stdout, "ready\n")
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t); code != 7 {
				t.Errorf("exit code %d, want 7 from the trap", code)
			}
			if got := p.logText(t, initproto.Stdout); got != "ready\ngot "+name+"\n" {
				t.Errorf("stdout %q", got)
			}
		})
	}
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGINT:
		return "INT"
	}
	return strconv.Itoa(int(s))
}

// TestOrphanReaping: CMD's child starts a grandchild and exits, so the
// grandchild becomes quilt-init's; once it exits, no zombie may remain.
func TestOrphanReaping(t *testing.T) {
	p := startInit(t, initOpts{}, "sh", "-c", `sh -c 'sleep 0.3 & echo $!'; echo started; sleep 30`)
	p.waitLog(t, initproto.Stdout, "started\n")
	pid, err := strconv.Atoi(strings.SplitN(p.logText(t, initproto.Stdout), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	ppid := func() (int, string) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return 0, ""
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		n, _ := strconv.Atoi(f[1])
		return n, f[0]
	}
	if parent, _ := ppid(); parent != 0 && parent != p.cmd.Process.Pid {
		t.Errorf("orphan %d has parent %d, want quilt-init %d", pid, parent, p.cmd.Process.Pid)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		parent, state := ppid()
		if parent == 0 {
			break // exited and reaped
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d still there, state %s", pid, state)
		}
	}
	// quilt-init still runs its command.
	select {
	case <-p.done:
		t.Fatal("quilt-init exited")
	default:
	}
}

// TestInheritance checks what CMD gets: stdin /dev/null, stdout and
// stderr pipes, none of fds 3, 4 and 5, quilt-init's environment, and the
// user of --user.
func TestInheritance(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch users")
	}
	p := startInit(t, initOpts{user: "65534:65534:65533,65532", env: []string{"PATH=/usr/bin:/bin", "FOO=bar"}}, "sh", "-c",
		`readlink /proc/$$/fd/0; for fd in 1 2; do readlink /proc/$$/fd/$fd | cut -d: -f1; done
		for fd in 3 4 5; do [ -e /proc/$$/fd/$fd ] && echo "fd $fd open"; done
		echo "FOO=$FOO"; id -u; id -g; id -G`)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d; log %q", code, p.logText(t, initproto.Stderr))
	}
	want := "/dev/null\npipe\npipe\nFOO=bar\n65534\n65534\n65534 65532 65533\n"
	if got := p.logText(t, initproto.Stdout); got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

// TestNoAgent runs quilt-init without fd 5.
func TestNoAgent(t *testing.T) {
	p := startInit(t, initOpts{noAgent: true}, "sh", "-c", "echo ok")
	if code := p.wait(t); code != 0 || p.logText(t, initproto.Stdout) != "ok\n" {
		t.Errorf("exit code %d, stdout %q", code, p.logText(t, initproto.Stdout))
	}
}

// TestDrainTimeout: a grandchild that keeps CMD's stdout open delays the
// exit status by about a second at most.
func TestDrainTimeout(t *testing.T) {
	p := startInit(t, initOpts{}, "sh", "-c", "sleep 30 & echo bye")
	start := time.Now()
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("quilt-init took %v to exit", d)
	}
	if got := p.logText(t, initproto.Stdout); got != "bye\n" {
		t.Errorf("stdout %q", got)
	}
}
