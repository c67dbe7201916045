package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin is a directory holding the quilt-sh binary, built by TestMain with
// CGO_ENABLED=0, and symlinks to it named sh, bash, env, ls, cat and [.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quilt-sh-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "quilt-sh"), ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build quilt-sh: %v\n%s", err, out)
			return 1
		}
		for _, name := range []string{"sh", "bash", "env", "ls", "cat", "["} {
			if err := os.Symlink("quilt-sh", filepath.Join(dir, name)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		bin = dir
		return m.Run()
	}()
	os.Exit(code)
}

// runBin runs bin/name with args in dir and returns stdout, stderr and the
// exit status (-signal for a signal).
func runBin(t *testing.T, dir string, env []string, stdin, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	status := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			status = -int(ws.Signal())
		}
	case err != nil:
		t.Fatalf("run %s: %v", name, err)
	}
	return out.String(), errOut.String(), status
}

func TestInvocations(t *testing.T) {
	hostPath := "PATH=" + bin + ":/usr/bin:/bin"
	cases := []struct {
		name   string
		files  map[string]string // written into the work directory, mode 0755
		env    []string          // default: PATH=bin
		stdin  string
		argv   []string // bin/argv[0] argv[1:]...
		out    string   // exact stdout; "$BIN" and "$DIR" replaced
		match  string   // or a regexp that stdout must match
		status int
		stderr string // substring
	}{
		{name: "sh -c", argv: []string{"sh", "-c", `echo "$0" "$1"`, "name", "a b"}, out: "name a b\n"},
		{name: "sh -c $0", argv: []string{"sh", "-c", `echo "$0"`}, out: "$BIN/sh\n"},
		{name: "sh file", files: map[string]string{"s.sh": "echo \"$0:$#:$2\"\nexit 4\n"}, argv: []string{"sh", "s.sh", "a", "b"}, out: "s.sh:2:b\n", status: 4},
		{name: "sh stdin", stdin: "echo one\necho \"$0\" $1\nexit 3\necho no\n", argv: []string{"sh", "-s", "x"}, out: "one\n$BIN/sh x\n", status: 3},
		{name: "sh -e", argv: []string{"sh", "-e", "-c", "echo a; false; echo no"}, out: "a\n", status: 1},
		{name: "sh -x", argv: []string{"sh", "-x", "-c", "echo hi"}, out: "hi\n", stderr: "+ echo hi"},
		{name: "sh -u", argv: []string{"sh", "-u", "-c", "echo $nope"}, status: 1},
		{name: "sh -o pipefail", argv: []string{"sh", "-o", "pipefail", "-c", "false | true"}, status: 1},
		{name: "sh bad option", argv: []string{"sh", "-Q"}, status: 2, stderr: "unknown option -Q"},
		{name: "sh missing file", argv: []string{"sh", "nope.sh"}, status: 127, stderr: "nope.sh"},
		{name: "syntax error", argv: []string{"sh", "-c", "fi"}, status: 2},
		{name: "not found", argv: []string{"sh", "-c", "nosuch arg"}, status: 127, stderr: "quilt-sh: nosuch: not found"},
		{name: "not executable", files: map[string]string{"f": ""}, argv: []string{"sh", "-c", "chmod 644 f; ./f"}, status: 126},
		{name: "bash name", argv: []string{"bash", "-c", "echo ok"}, out: "ok\n"},
		{name: "env", env: []string{"A=1", "B=2"}, argv: []string{"env"}, out: "A=1\nB=2\n"},
		{name: "env -i", env: []string{"A=1"}, argv: []string{"env", "-i", "C=3"}, out: "C=3\n"},
		{name: "env runs", env: []string{"PATH=$BIN"}, argv: []string{"env", "A=1", "sh", "-c", "echo $A"}, out: "1\n"},
		{name: "env not found", argv: []string{"env", "nosuch"}, status: 127, stderr: "nosuch: not found"},
		{name: "env exec keeps pid", env: []string{"PATH=$BIN"}, argv: []string{"sh", "-c", `echo $$; exec env sh -c 'echo $$'`}, match: `^(\d+)\n(\d+)\n$`},
		{name: "#!env", files: map[string]string{"s": "#!$BIN/env sh\necho shebang \"$1\"\n"}, argv: []string{"sh", "-c", "./s x"}, out: "shebang x\n"},
		{name: "ls symlink", files: map[string]string{"b": "", "a": ""}, argv: []string{"ls"}, out: "a\nb\n"},
		{name: "cat symlink", stdin: "in\n", argv: []string{"cat"}, out: "in\n"},
		{name: "[ symlink", argv: []string{"[", "1", "=", "1", "]"}},
		{name: "quilt-sh util", files: map[string]string{"x": ""}, argv: []string{"quilt-sh", "ls", "-1"}, out: "x\n"},
		{name: "quilt-sh echo", argv: []string{"quilt-sh", "echo", "-n", "hi"}, out: "hi"},
		{name: "quilt-sh list", argv: []string{"quilt-sh", "--list"}, match: `(?s)^\[\nbasename\n.*\ngrep\n.*\nwc\n$`},
		{name: "quilt-sh shell", argv: []string{"quilt-sh", "-c", "echo shell"}, out: "shell\n"},
		{name: "exec keeps pid", argv: []string{"sh", "-c", `echo $$; exec sh -c 'echo $$'`}, match: `^(\d+)\n(\d+)\n$`},
		{name: "entrypoint exec", files: map[string]string{"entrypoint.sh": "#!$BIN/sh\nset -e\necho \"pid $$\"\nexec \"$@\"\n"},
			argv: []string{"sh", "-c", `./entrypoint.sh sh -c 'echo "pid $$"'`}, match: `^pid (\d+)\npid (\d+)\n$`},
		{name: "exec with redirection", argv: []string{"sh", "-c", "exec sh -c 'echo redirected' > out; echo no"}, out: ""},
		{name: "exec in subshells", argv: []string{"sh", "-c", "(exec true); x=$(exec echo a); exec echo b | cat; echo still $x"}, out: "b\nstill a\n"},
		{name: "exec builtin env keeps pid", env: []string{"PATH=$BIN", "QUILT_SH_PREFER_BUILTINS=1"}, argv: []string{"sh", "-c", `echo $$; exec env A=1 sh -c 'echo $$'`}, match: `^(\d+)\n(\d+)\n$`},
		{name: "exec not found", argv: []string{"sh", "-c", "exec nosuch; echo no"}, status: 127},
		{name: "exec utility", argv: []string{"sh", "-c", "exec ls -d .; echo no"}, out: ".\n"},
		{name: "signal status", argv: []string{"sh", "-c", "sh -c 'kill -TERM $$; sleep 1'; echo status $?"}, out: "status 143\n"},
		{name: "umask reaches children", env: []string{hostPath}, argv: []string{"sh", "-c", "umask 077; /usr/bin/touch f; stat -c %a f"}, out: "600\n"},
		{name: "ulimit reaches children", env: []string{hostPath}, argv: []string{"sh", "-c", "ulimit -n 64; ulimit -n; /bin/cat /proc/self/limits"},
			match: `(?m)\A64\n(.*\n)*Max open files\s+64\s+64\s+files`},
		{name: "ulimit -c", argv: []string{"sh", "-c", "ulimit -c 0; ulimit -c; ulimit -H -c"}, out: "0\n0\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			expand := func(s string) string {
				return strings.NewReplacer("$BIN", bin, "$DIR", dir).Replace(s)
			}
			for name, text := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(expand(text)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{"PATH=" + bin}
			if tc.env != nil {
				env = nil
				for _, kv := range tc.env {
					env = append(env, expand(kv))
				}
			}
			out, errOut, status := runBin(t, dir, env, tc.stdin, tc.argv[0], tc.argv[1:]...)
			if status != tc.status {
				t.Errorf("status = %d, want %d (stderr %q)", status, tc.status, errOut)
			}
			if tc.match != "" {
				m := regexp.MustCompile(tc.match).FindStringSubmatch(out)
				switch {
				case m == nil:
					t.Errorf("stdout %q does not match %s", out, tc.match)
				case len(m) == 3 && strings.Contains(tc.match, `(\d+)`) && m[1] != m[2]:
					t.Errorf("pids differ: %q", out)
				}
			} else if want := expand(tc.out); out != want {
				t.Errorf("stdout = %q, want %q", out, want)
			}
			if !strings.Contains(errOut, expand(tc.stderr)) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, expand(tc.stderr))
			}
		})
	}
}

func TestExecRedirectionReachesFile(t *testing.T) {
	dir := t.TempDir()
	_, errOut, status := runBin(t, dir, []string{"PATH=" + bin}, "", "sh", "-c", "exec sh -c 'echo redirected; echo $$' > out")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out"))
	if err != nil || !strings.HasPrefix(string(data), "redirected\n") {
		t.Errorf("out = %q, %v", data, err)
	}
}

// TestChroot runs quilt-sh as the only file of a root filesystem: no /tmp,
// /proc, /etc/passwd or locale files, as in a broken image.
func TestChroot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	root := t.TempDir()
	data, err := os.ReadFile(filepath.Join(bin, "quilt-sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sh"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `cat <<EOF
here $((1+2))
EOF
echo ~ | wc -w
[ "$$" -gt 0 ] && echo pid
mkdir -p /d && echo x > /d/f && cat /d/f && ls /
echo ok; false || echo b && echo c | cat
id -u
ls /nix 2>&1; echo $?
`
	cmd := exec.Command("/sh", "-c", src)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/bin:/usr/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chroot sh: %v\n%s", err, out)
	}
	want := "here 3\n1\npid\nx\nd\nsh\nok\nb\nc\n0\nls: cannot access '/nix': No such file or directory\n2\n"
	if string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}
