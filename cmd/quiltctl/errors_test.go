package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// quiltd's errors show as its own sentence, never as "rpc error: code =".
func TestErrorsArePlainSentences(t *testing.T) {
	f, sock := startFake(t)
	f.addImage("busybox")
	f.addContainer(&quiltv1.Container{Id: digest("web"), Name: "web", Status: quiltv1.Status_STATUS_RUNNING, StartedAt: timestamppb.New(fakeNow)})
	for _, tc := range []struct {
		args   []string
		stdout string
		stderr string
		code   int
	}{
		{[]string{"kill", "-s", "BOGUS", "web"}, "", "quiltctl: unknown signal \"BOGUS\"\n", 1},
		{[]string{"rm", "nope"}, "", "quiltctl: no such container: nope\n", 1},
		{[]string{"rm", "web"}, "", "quiltctl: container web is running: stop it first, or remove it with force\n", 1},
		{[]string{"rm", "nope", "web", "-f"}, "web\n", "quiltctl: no such container: nope\n", 1},
		{[]string{"start", "nope"}, "", "quiltctl: no such container: nope\n", 1},
		{[]string{"logs", "nope"}, "", "quiltctl: no such container: nope\n", 1},
		{[]string{"exec", "nope", "cat"}, "", "quiltctl: no such container: nope\n", 1},
		{[]string{"inspect", "nope"}, "[]\n", "quiltctl: no such container or image: nope\n", 1},
		{[]string{"inspect", "--type", "image", "nope"}, "[]\n", "quiltctl: no such image: nope\n", 1},
		{[]string{"rmi", "nope"}, "", "quiltctl: no such image: nope\n", 1},
		{[]string{"run", "alpine", "true"}, "", "quiltctl: no such image: alpine\n", 125},
		{[]string{"create", "alpine"}, "", "quiltctl: no such image: alpine\n", 125},
		{[]string{"stop"}, "", "quiltctl: stop: missing argument (usage: quiltctl stop CONTAINER...)\n", 1},
		{[]string{"frobnicate"}, "", "quiltctl: unknown command \"frobnicate\" (see quiltctl --help)\n", 1},
		{[]string{"ps", "--filter", "colour=red"}, "", "quiltctl: --filter \"colour=red\": invalid filter (filters are label, name, status and image)\n", 1},
	} {
		stdout, stderr, code := quiltctl(t, sock, nil, tc.args...)
		if stdout != tc.stdout || stderr != tc.stderr || code != tc.code {
			t.Errorf("quiltctl %q = (%q, %q, %d), want (%q, %q, %d)", tc.args, stdout, stderr, code, tc.stdout, tc.stderr, tc.code)
		}
		if strings.Contains(stderr, "rpc error") {
			t.Errorf("quiltctl %q: stderr %q shows the gRPC error", tc.args, stderr)
		}
	}
}

func TestDaemonNotRunning(t *testing.T) {
	dir := t.TempDir()
	// A socket nobody listens on any more, and no socket at all.
	closed := filepath.Join(dir, "closed.sock")
	l, err := net.Listen("unix", closed)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	for _, sock := range []string{closed, filepath.Join(dir, "missing.sock")} {
		for _, args := range [][]string{{"ps"}, {"run", "busybox"}, {"version"}} {
			stdout, stderr, code := quiltctl(t, sock, nil, args...)
			want := "quiltctl: cannot reach quiltd at " + sock + ": is quiltd running?\n"
			wantCode := 1
			if args[0] == "run" {
				wantCode = 125
			}
			if !strings.HasSuffix(stderr, want) || code != wantCode {
				t.Errorf("quiltctl --address %s %q = (%q, %d), want (%q, %d)", sock, args, stderr, code, want, wantCode)
			}
			if args[0] == "version" && !strings.HasPrefix(stdout, "Client:\n Version:") {
				t.Errorf("version without quiltd printed %q, want the client's version", stdout)
			}
		}
	}
}

func TestAddressFromEnvironment(t *testing.T) {
	f, sock := startFake(t)
	t.Setenv("QUILT_ADDRESS", sock)
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"quiltctl", "version"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("version: status %d, stderr %q", code, errb.String())
	}
	if len(recorded[*quiltv1.VersionRequest](f)) != 1 {
		t.Errorf("QUILT_ADDRESS=%s: quiltd was not asked", sock)
	}
}

// The socket's path is not a URL: spaces and percent signs stay as they are.
func TestAddressWithOddCharacters(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "a b%zz.sock")
	f := startFakeAt(t, sock)
	if _, stderr, code := quiltctl(t, sock, nil, "version"); code != 0 {
		t.Fatalf("version: status %d, stderr %q", code, stderr)
	}
	if len(recorded[*quiltv1.VersionRequest](f)) != 1 {
		t.Errorf("quiltd at %q was not asked", sock)
	}
}

// A relative --address is the socket in the working directory.
func TestRelativeAddress(t *testing.T) {
	dir := t.TempDir()
	f := startFakeAt(t, filepath.Join(dir, "q.sock"))
	t.Chdir(dir)
	if _, stderr, code := quiltctl(t, "q.sock", nil, "version"); code != 0 {
		t.Fatalf("version: status %d, stderr %q", code, stderr)
	}
	if len(recorded[*quiltv1.VersionRequest](f)) != 1 {
		t.Error("quiltd at q.sock was not asked")
	}
}
