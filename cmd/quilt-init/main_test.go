package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quilt-runtime/quilt/daemon/initproto"
)

// initBin is the quilt-init binary, built by TestMain as `make build`
// builds it.
var initBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quilt-init-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		// The temp dir must be reachable for the users tests switch to.
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		bin := filepath.Join(dir, "quilt-init")
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build quilt-init: %v\n%s", err, out)
			return 1
		}
		// Written-back pages, so that memory figures do not count the
		// fresh binary's dirty page cache.
		if f, err := os.Open(bin); err == nil {
			f.Sync()
			f.Close()
		}
		initBin = bin
		return m.Run()
	}()
	os.Exit(code)
}

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args     []string
		wantCred *syscall.Credential
		wantCmd  []string
		seccomp  bool
		wantErr  string
	}{
		{args: []string{"--seccomp", "--user", "1:2", "--", "id"}, wantCred: &syscall.Credential{Uid: 1, Gid: 2, Groups: []uint32{}}, wantCmd: []string{"id"}, seccomp: true},
		{args: []string{"--", "sh", "-c", "x"}, wantCmd: []string{"sh", "-c", "x"}},
		{args: []string{"sleep", "1"}, wantCmd: []string{"sleep", "1"}},
		{args: []string{"--user", "1000:100", "--", "id"}, wantCred: &syscall.Credential{Uid: 1000, Gid: 100, Groups: []uint32{}}, wantCmd: []string{"id"}},
		{args: []string{"--user=0:0:1,2,3", "--", "id", "--", "-x"}, wantCred: &syscall.Credential{Groups: []uint32{1, 2, 3}}, wantCmd: []string{"id", "--", "-x"}},
		{args: []string{"--user", "1:2:", "--", "id"}, wantCred: &syscall.Credential{Uid: 1, Gid: 2, Groups: []uint32{}}, wantCmd: []string{"id"}},
		{args: nil, wantErr: "no command"},
		{args: []string{"--"}, wantErr: "no command"},
		{args: []string{"--user"}, wantErr: "needs UID:GID"},
		{args: []string{"--user", "root", "--", "id"}, wantErr: "numeric"},
		{args: []string{"--user", "1", "--", "id"}, wantErr: "numeric"},
		{args: []string{"--user", "1:2:x", "--", "id"}, wantErr: "numeric"},
		{args: []string{"--user", "1:2:3:4", "--", "id"}, wantErr: "numeric"},
		{args: []string{"--user", "-1:2", "--", "id"}, wantErr: "numeric"},
		{args: []string{"--verbose", "--", "id"}, wantErr: `unknown option "--verbose"`},
	}
	for _, tc := range cases {
		cred, cmd, withSeccomp, err := parseArgs(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseArgs(%q): err %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(cred, tc.wantCred) || !reflect.DeepEqual(cmd, tc.wantCmd) || withSeccomp != tc.seccomp {
			t.Errorf("parseArgs(%q) = %+v, %q, %v, %v; want %+v, %q, %v", tc.args, cred, cmd, withSeccomp, err, tc.wantCred, tc.wantCmd, tc.seccomp)
		}
	}
}

// initOpts configure startInit.
type initOpts struct {
	user    string   // --user
	noAgent bool     // no fd 5
	env     []string // quilt-init's (and CMD's) environment; default PATH only
}

// initProc is a quilt-init running as a plain host process (not PID 1: it
// is then a child subreaper), in its own process group.
type initProc struct {
	cmd        *exec.Cmd
	logPath    string
	statusPath string
	sock       string // the agent socket, "" without one
	done       chan struct{}
	err        error // of Wait, once done is closed
}

// startInit starts quilt-init with fds 3, 4 and 5 as quiltd gives them.
// Cleanup kills its process group, whatever is left of it.
func startInit(t testing.TB, o initOpts, cmd ...string) *initProc {
	t.Helper()
	dir := t.TempDir()
	p := &initProc{logPath: filepath.Join(dir, "log"), statusPath: filepath.Join(dir, "status"), done: make(chan struct{})}
	log, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	status, err := os.OpenFile(p.statusPath, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer status.Close()
	files := []*os.File{log, status}
	if !o.noAgent {
		p.sock = filepath.Join(dir, "agent.sock")
		ln, err := net.Listen("unix", p.sock)
		if err != nil {
			t.Fatal(err)
		}
		// quilt-init has its own copy; ours goes, the socket file stays.
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		defer ln.Close()
		sock, err := ln.(*net.UnixListener).File()
		if err != nil {
			t.Fatal(err)
		}
		defer sock.Close()
		files = append(files, sock)
	}
	args := []string{}
	if o.user != "" {
		args = append(args, "--user", o.user)
	}
	p.cmd = exec.Command(initBin, append(append(args, "--"), cmd...)...)
	p.cmd.Env = o.env
	if p.cmd.Env == nil {
		p.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	}
	p.cmd.ExtraFiles = files
	p.cmd.Stderr = os.Stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := p.cmd.Process.Pid
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

// wait waits for quilt-init to exit and returns its exit code.
func (p *initProc) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("quilt-init did not exit")
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// entries returns the records of the log so far.
func (p *initProc) entries(t testing.TB) []initproto.Entry {
	t.Helper()
	f, err := os.Open(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []initproto.Entry
	if err := initproto.ReadLog(f, func(e initproto.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// logText returns the data of the records of stream s so far.
func (p *initProc) logText(t testing.TB, s initproto.Stream) string {
	var b strings.Builder
	for _, e := range p.entries(t) {
		if e.Stream == s {
			b.Write(e.Data)
		}
	}
	return b.String()
}

// waitLog waits until stream s of the log holds want.
func (p *initProc) waitLog(t testing.TB, s initproto.Stream, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(p.logText(t, s), want) {
			return
		}
	}
	t.Fatalf("%s never logged %q; log: %q", s, want, p.logText(t, s))
}

// status reads the exit-status file.
func (p *initProc) status(t testing.TB) *initproto.ExitStatus {
	t.Helper()
	st, err := initproto.ReadExitStatus(p.statusPath)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
