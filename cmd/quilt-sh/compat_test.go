package main

import (
	"os"
	"os/exec"
	"testing"
)

// compatSnippets are the kinds of things docker-entrypoint scripts do.
// Each runs as `sh -c SNIPPET sh ARGS...` in an empty directory.
var compatSnippets = []struct {
	name, src string
	args      []string
}{
	{"set -e exec", `set -e; set -- echo hello world; exec "$@"`, nil},
	{"entrypoint", `set -e
if [ "${1#-}" != "$1" ]; then set -- server "$@"; fi
if [ "$1" = server ] && [ "$(id -u)" = "$(id -u)" ]; then echo "starting $1 with $# args"; fi
exec echo "$@"`, []string{"--port", "80"}},
	{"defaults", `: ${FOO:=bar}; echo "$FOO ${BAZ:-def} ${UNSET-x} ${FOO:+alt} ${#FOO} ${FOO%r} ${FOO#b}"`, nil},
	{"strip", `x=/usr/local/bin/app.sh; echo ${x##*/} ${x%/*} ${x%.sh} ${x#/usr}`, nil},
	{"set -u default", `set -u; echo "${MISSING:-ok}"`, nil},
	{"case", `for a in start stop halt x-1; do case "$a" in start) echo S;; stop|halt) echo T;; x-*) echo "dash $a";; *) echo other;; esac; done`, nil},
	{"while", `i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo $i; done; until [ $i -eq 0 ]; do i=$((i-1)); done; echo $i`, nil},
	{"for args", `for x in "$@"; do echo "[$x]"; done; echo $#; shift; echo "$*"`, []string{"a b", "c", ""}},
	{"functions", `f() { local x=$1; echo "x=$x"; return 3; }; f 1; echo "$? ${x:-unset}"; g() { echo "$#:$1"; }; g "$@"`, []string{"p q"}},
	{"heredoc", "v=1\ncat <<EOF\nline $((v+1)) $v\n\tTab\nEOF\ncat <<'EOF'\n$v\nEOF\ncat <<-EOF\n\tstripped\n\tEOF", nil},
	{"pipes", `printf 'a\nb\nc\nab\n' | grep -v b | wc -l; printf 'x\ny\n' | head -n 1; printf 'x\ny\n' | tail -n 1`, nil},
	{"redirections", `echo one > f; echo two >> f; cat < f; wc -l < f; ls nonexistent 2>/dev/null || echo "ls failed"; { echo out; echo err >&2; } 2>&1 >/dev/null`, nil},
	{"test", `[ -z "" ] && echo empty; [ -n x ] && echo nonempty; [ 3 -gt 2 ] && echo gt; [ a = a ] && echo eq; [ a != b ] && echo ne
[ ! -e /nonexistent ] && echo absent; test -d / && echo dir; [ -f / ] || echo notfile; [ 1 -eq 1 -a 2 -eq 2 ] && echo and`, nil},
	{"substitution", "echo \"$(echo \"$(echo nested)\")\" `echo tick`; x=$(printf 'a\\n\\n'); echo \"[$x]\"", nil},
	{"arithmetic", `x=5; echo $((7/2)) $((7%3)) $(( (1+2)*3 )) $((1<<4)) $((x*2)) $((x>3)) $((-x))`, nil},
	{"exit codes", `false; echo $?; (exit 3); echo $?; f() { return 4; }; f; echo $?; ! true; echo $?`, nil},
	{"not found", `nosuchcommand 2>/dev/null; echo $?`, nil},
	{"set -e and", `set -e; false && true; echo reached; if false; then :; fi; echo reached2`, nil},
	{"set -e fails", `set -e; echo before; false; echo after`, nil},
	{"read", `echo "a b c" | { read x y; echo "$y-$x"; }; printf 'k1=v1\nk2=v2\n' | while IFS== read k v; do echo "$k -> $v"; done`, nil},
	{"export", `export A=1; B=2; env | grep '^[AB]='; C=3 env | grep '^C='`, nil},
	{"trap", `trap 'echo cleanup' EXIT; echo work`, nil},
	{"subshell", `x=1; (x=2; cd /; echo $x); echo $x; (exit 5) || echo "failed $?"`, nil},
	{"printf", `printf '%s=%s\n' a 1 b 2; printf '%5s|%-3d|%x\n' r 7 255`, nil},
	{"files", `mkdir -p a/b; touch a/b/c a/x; ls a; ls -R a; cp -r a z; ls z; mv z y; ls; rm -r y; ls`, nil},
	{"links", `echo t > target; ln -s target lnk; readlink lnk; cat lnk; ln -sf other lnk; readlink lnk; [ -L lnk ] && echo link`, nil},
	{"find", `mkdir -p a/b; touch a/b/f; find . -name f; find a -maxdepth 0 -type d; find . -name f -exec cat {} \;`, nil},
	{"grep", `printf 'alpha\nbeta\ngamma\n' > f; grep -c a f; grep -E '^(al|ga)' f; grep -n mm f; grep -q zeta f || echo none; grep -i BETA f`, nil},
	{"basename", `basename /a/b.c .c; dirname /a/b/c; basename "$0"`, nil},
	{"status of pipeline", `false | true; echo $?; true | false; echo $?`, nil},
	{"exit status", `echo x; exit 42`, nil},
}

func busyboxPath() string {
	if _, err := os.Stat("/bin/busybox"); err == nil {
		return "/bin/busybox"
	}
	p, _ := exec.LookPath("busybox")
	return p
}

// TestBusyboxCompat runs each snippet under busybox sh and quilt-sh and
// compares stdout and exit status: once with the host's tools in PATH,
// and once with an empty PATH so that quilt-sh uses its built-in
// utilities (busybox uses its applets either way).
func TestBusyboxCompat(t *testing.T) {
	busybox := busyboxPath()
	if busybox == "" {
		t.Skip("busybox not installed (apt-get install -y busybox-static)")
	}
	empty := t.TempDir()
	for _, sn := range compatSnippets {
		t.Run(sn.name, func(t *testing.T) {
			args := append([]string{"-c", sn.src, "sh"}, sn.args...)
			bbCmd := exec.Command(busybox, append([]string{"sh"}, args...)...)
			bbCmd.Dir = t.TempDir()
			bbCmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
			bbOut, err := bbCmd.Output()
			bbStatus := exitStatusOf(t, err)
			for _, path := range []string{"/usr/bin:/bin", empty} {
				out, errOut, status := runBin(t, t.TempDir(), []string{"PATH=" + path, "HOME=/"}, "", "sh", args...)
				if out != string(bbOut) || status != bbStatus {
					t.Errorf("PATH=%s:\nquilt-sh (status %d):\n%s\nbusybox (status %d):\n%s\nquilt-sh stderr: %s",
						path, status, out, bbStatus, bbOut, errOut)
				}
			}
		})
	}
}

func exitStatusOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}
