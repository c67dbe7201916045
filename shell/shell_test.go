package shell

import (
	"bytes"
	"context"
	"io"
	"maps"
	"strings"
	"syscall"
	"testing"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// shellCase is a `sh -c` run in a fresh directory whose PATH is empty
// unless the case sets it, so commands resolve to built-in utilities.
type shellCase struct {
	name   string
	setup  []string
	stdin  string
	flags  []string
	src    string
	out    string // exact stdout ("$DIR" replaced)
	status int
	stderr string // substring of stderr ("$DIR" replaced)
}

func runShellCases(t *testing.T, cases []shellCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mkfs(t, dir, tc.setup...)
			out, errOut, status := runShell(t, dir, tc.stdin, tc.src, tc.flags...)
			if status != tc.status {
				t.Errorf("status = %d, want %d (stderr %q)", status, tc.status, errOut)
			}
			if want := strings.ReplaceAll(tc.out, "$DIR", dir); out != want {
				t.Errorf("stdout = %q, want %q", out, want)
			}
			if want := strings.ReplaceAll(tc.stderr, "$DIR", dir); !strings.Contains(errOut, want) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, want)
			}
		})
	}
}

func TestShellLanguage(t *testing.T) {
	runShellCases(t, []shellCase{
		{name: "list", src: "echo a; echo b", out: "a\nb\n"},
		{name: "and or", src: "false && echo no || echo yes", out: "yes\n"},
		{name: "spec smoke", src: "echo ok; false || echo b && echo c | cat", out: "ok\nb\nc\n"},
		{name: "pipeline of utilities", src: "printf 'b\\na\\nab\\n' | grep a | wc -l", out: "2\n"},
		{name: "pipeline status", src: "false | true; echo $?", out: "0\n"},
		{name: "pipefail", flags: []string{"-o", "pipefail"}, src: "false | true", status: 1},
		{name: "redirections", src: "echo x > f; echo y >> f; cat < f; cat f | head -n1", out: "x\ny\nx\n"},
		{name: "stderr to stdout", src: "ls nope 2>&1 | grep -c 'cannot access'", out: "1\n"},
		{name: "subshell", src: "x=1; (x=2; echo $x); echo $x", out: "2\n1\n"},
		{name: "function", src: `f() { echo "f:$1"; return 3; }; f a; echo $?`, out: "f:a\n3\n"},
		{name: "heredoc", src: "X=1; cat <<EOF\nhi $X\nEOF\ncat <<'EOF'\n$X\nEOF", out: "hi 1\n$X\n"},
		{name: "command substitution", src: `d=$(mkdir a && ls); echo "[$d]"`, out: "[a]\n"},
		{name: "set -e", src: "set -e; false; echo no", status: 1},
		{name: "-e flag", flags: []string{"-e"}, src: "echo a; false; echo no", out: "a\n", status: 1},
		{name: "set -e or", src: "set -e; false || true; echo yes", out: "yes\n"},
		{name: "-u flag", flags: []string{"-u"}, src: "echo $nope; echo no", status: 1, stderr: "nope"},
		{name: "-x flag", flags: []string{"-x"}, src: "echo hi", out: "hi\n", stderr: "+ echo hi"},
		{name: "exit status", src: "exit 7", status: 7},
		{name: "syntax error", src: "if then", status: 2},
	})
}

func TestShellCommands(t *testing.T) {
	elf := string(brokenELF("/nonexistent/ld.so"))
	runShellCases(t, []shellCase{
		{name: "not found", src: "nosuch; echo $?", out: "127\n", stderr: "quilt-sh: nosuch: not found"},
		{name: "not found path", src: "./nosuch", status: 127, stderr: "./nosuch: not found"},
		{name: "not executable", setup: []string{"f=echo hi"}, src: "./f; echo $?", out: "126\n", stderr: "Permission denied"},
		{name: "directory", setup: []string{"d/"}, src: "./d", status: 126},
		{name: "not executable in PATH", setup: []string{"bin/f=echo hi"}, src: "PATH=$PWD/bin; f", status: 126},
		{name: "script without #!", setup: []string{"s*=echo from script $1 $0"}, src: "./s arg", out: "from script arg $DIR/s\n"},
		{name: "binary without #!", setup: []string{"b*=\x01\x02\x00\n"}, src: "./b", status: 126, stderr: "cannot execute binary file"},
		{name: "#! shell missing", setup: []string{"b*=#!/nonexistent/bin/bash -e\necho fallback $1\nfalse\necho not reached\n"},
			src: "./b x; echo $?", out: "fallback x\n1\n", stderr: "#! interpreter /nonexistent/bin/bash missing; running it with quilt-sh"},
		{name: "#! env shell missing", setup: []string{"b*=#!/nonexistent/env sh\necho via env\n"}, src: "./b", out: "via env\n"},
		{name: "#! fallback off", setup: []string{"b*=#!/nonexistent/bin/sh\necho no\n"}, src: "QUILT_SH_SHEBANG_FALLBACK=0 ./b", status: 127,
			stderr: "#! interpreter /nonexistent/bin/sh missing"},
		{name: "#! other interpreter", setup: []string{"p*=#!/nonexistent/python3\n"}, src: "./p", status: 127,
			stderr: "./p: $DIR/p is broken (#! interpreter /nonexistent/python3 missing)"},
		{name: "broken ELF utility", setup: []string{"bin/ls*=" + elf, "d/x="}, src: "PATH=$PWD/bin; ls d; ls d",
			out: "x\nx\n", stderr: "quilt-sh: ls: $DIR/bin/ls is broken (ELF interpreter /nonexistent/ld.so missing); using built-in ls\n"},
		{name: "broken ELF", setup: []string{"bin/hello*=" + elf}, src: "PATH=$PWD/bin; hello", status: 127,
			stderr: "ELF interpreter /nonexistent/ld.so missing"},
		{name: "dangling link in PATH", setup: []string{"bin/cat@/nix/store/missing/bin/cat"}, src: "PATH=$PWD/bin; echo x | cat",
			out: "x\n", stderr: "dangling symlink: /nix/store/missing/bin/cat missing"},
		{name: "diagnose", setup: []string{"bin/hello@../store/hello", "store/hello*=" + elf}, src: "PATH=$PWD/bin; diagnose hello",
			out: "$DIR/bin/hello -> $DIR/store/hello: ELF interpreter /nonexistent/ld.so missing\n", status: 1},
		{name: "diagnose utility", src: "diagnose ls", out: "ls: not in PATH; quilt-sh has a built-in ls\n"},
		{name: "PATH wins over utility", setup: []string{"bin/ls*=#!/bin/sh\necho mine\n"}, src: "PATH=$PWD/bin:/bin; ls", out: "mine\n"},
		{name: "prefer builtins", setup: []string{"bin/ls*=#!/bin/sh\necho mine\n", "f="}, src: "PATH=$PWD/bin:/bin QUILT_SH_PREFER_BUILTINS=1 ls", out: "bin\nf\n"},
		{name: "command -v", src: "f() { :; }; command -v ls echo f; command -v nosuch || echo none", out: "ls\necho\nf\nnone\n"},
		{name: "type", src: "type ls", out: "ls is a quilt-sh builtin utility\n"},
		{name: "command runs utility", src: "command echo hi; command ls", out: "hi\n"},
		{name: "kill builtin", src: "kill -l 9; kill -0 $$ && echo alive", out: "KILL\nalive\n"},
		{name: "function shadows builtin", src: "kill() { echo mine $1; }; kill 1", out: "mine 1\n"},
		{name: "jobs", src: "jobs", status: 1, stderr: "not supported"},
		{name: "exec runs and exits", src: "exec echo hi; echo no", out: "hi\n"},
		{name: "exec status", src: "exec false; echo no", status: 1},
		{name: "exec not found", src: "exec nosuch; echo no", status: 127},
		{name: "exec redirection only", src: "exec 2>/dev/null; ls nope; echo $?", out: "2\n"},
		{name: "exec -c", src: "export A=1; exec -c env", out: ""},
		{name: "exec in subshell", src: "(exec echo sub); x=$(exec echo cmd); echo after $x", out: "sub\nafter cmd\n"},
		{name: "env in shell", src: "env -i A=1 env; env -i PATH=/nonexistent nosuch; echo $?", out: "A=1\n127\n"},
		{name: "exported variables", src: "export A=1; B=2; C=3 env | grep -E '^[ABC]='", out: "A=1\nC=3\n"},
	})
}

func TestShellProcessState(t *testing.T) {
	old := currentUmask()
	t.Cleanup(func() { syscall.Umask(int(old)) })
	var core syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &core); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_CORE, &core) })
	runShellCases(t, []shellCase{
		{name: "umask", src: "umask 027; umask; umask -S; umask u=rwx,g=,o=; umask; touch g; ls -ln g | grep -c '^-rw------- '",
			out: "0027\nu=rwx,g=rx,o=\n0077\n1\n"},
		{name: "ulimit", src: "ulimit -S -c 0; ulimit -c; ulimit -S -c; ulimit -n | grep -c '^[0-9]*$'; ulimit -a | grep -c 'open files'", out: "0\n0\n1\n1\n"},
		{name: "ulimit bad", src: "ulimit -c lots", status: 2},
	})
}

func TestRunReader(t *testing.T) {
	cases := []struct {
		name, in, out string
		status        int
	}{
		{"arg0", "echo $0 ${0}x \"$0\"\n", "qsh qshx qsh\n", 0},
		{"runs in order", "echo a\nexit 4\necho b\n", "a\n", 4},
		{"exit trap", "trap 'echo bye' EXIT\necho hi\n", "hi\nbye\n", 0},
		{"last status", "echo a\nfalse\n", "a\n", 1},
		{"syntax error", "echo a\nif then\n", "a\n", 2},
		{"multi-line", "f() {\n echo in f\n}\nf\n", "in f\n", 0},
		{"set -e", "set -e\nfalse\necho no\n", "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			opts := testOptions(t, t.TempDir(), "", &out, &errOut)
			opts.Name = "qsh"
			s, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			status := exitCode(t, s.RunReader(context.Background(), strings.NewReader(tc.in), nil, false))
			if out.String() != tc.out || status != tc.status {
				t.Errorf("got %q, %d; want %q, %d (stderr %q)", out.String(), status, tc.out, tc.status, errOut.String())
			}
		})
	}
}

func TestRunFileParams(t *testing.T) {
	dir := t.TempDir()
	mkfs(t, dir, "s.sh=echo \"$0|$#|$2\"; shift; echo \"$@\"\n")
	var out, errOut bytes.Buffer
	s, err := New(testOptions(t, dir, "", &out, &errOut))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RunFile(context.Background(), "s.sh", []string{"a", "b c"}); err != nil {
		t.Fatalf("RunFile: %v (stderr %q)", err, errOut.String())
	}
	if want := "s.sh|2|b c\nb c\n"; out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
}

func TestRunnerOf(t *testing.T) {
	// exec replaces the process only when runnerOf tells the main shell
	// from its subshells; this fails if interp's HandlerContext changes.
	var r *interp.Runner
	got := map[string]bool{}
	r, err := interp.New(
		interp.StdIO(nil, io.Discard, io.Discard),
		interp.ExecHandler(func(ctx context.Context, args []string) error {
			got[args[0]] = runnerOf(interp.HandlerCtx(ctx)) == r
			return nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	src := "main; (sub1); x=$(sub2); sub3 | cat; sub4 & wait; f() { fn; }; f; { block; }"
	file, err := syntax.NewParser().Parse(strings.NewReader(src), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), file); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"main": true, "sub1": false, "sub2": false, "sub3": false, "sub4": false, "cat": true, "fn": true, "block": true}
	if !maps.Equal(got, want) {
		t.Errorf("runnerOf(...) == main runner: got %v, want %v", got, want)
	}
}
