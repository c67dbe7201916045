package shell

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// utilCase is one run of a built-in utility in a fresh directory.
type utilCase struct {
	name     string
	setup    []string // mkfs entries
	stdin    string
	args     []string // utility name first
	out      string   // exact stdout, unless contains is set
	contains []string // substrings of stdout, "$DIR" replaced
	status   int
	stderr   string // substring of stderr
	tree     string // the directory afterwards, when set
	check    func(t *testing.T, dir string)
}

func runUtilCases(t *testing.T, cases []utilCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mkfs(t, dir, tc.setup...)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "$DIR", dir)
			}
			out, errOut, status := runUtil(t, dir, tc.stdin, args[0], args[1:]...)
			if status != tc.status {
				t.Errorf("status = %d, want %d (stderr %q)", status, tc.status, errOut)
			}
			if tc.contains != nil {
				for _, want := range tc.contains {
					if want = strings.ReplaceAll(want, "$DIR", dir); !strings.Contains(out, want) {
						t.Errorf("stdout %q does not contain %q", out, want)
					}
				}
			} else if want := strings.ReplaceAll(tc.out, "$DIR", dir); out != want {
				t.Errorf("stdout = %q, want %q", out, want)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tc.stderr)
			}
			if tc.tree != "" {
				if got := tree(t, dir); got != tc.tree {
					t.Errorf("tree = %q, want %q", got, tc.tree)
				}
			}
			if tc.check != nil {
				tc.check(t, dir)
			}
		})
	}
}

func modeOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestFileUtilities(t *testing.T) {
	runUtilCases(t, []utilCase{
		{name: "cat", setup: []string{"a=1\n", "b=2\n"}, args: []string{"cat", "a", "b"}, out: "1\n2\n"},
		{name: "cat stdin", stdin: "in\n", setup: []string{"a=1\n"}, args: []string{"cat", "a", "-"}, out: "1\nin\n"},
		{name: "cat missing goes on", setup: []string{"a=1\n", "b=2\n"}, args: []string{"cat", "a", "nope", "b"},
			out: "1\n2\n", status: 1, stderr: "cat: nope: No such file or directory"},
		{name: "mkdir", args: []string{"mkdir", "x", "y"}, tree: "x/ y/"},
		{name: "mkdir exists", setup: []string{"x/"}, args: []string{"mkdir", "x"}, status: 1, stderr: "File exists"},
		{name: "mkdir -p", setup: []string{"x/"}, args: []string{"mkdir", "-p", "x", "x/y/z"}, tree: "x/ x/y/ x/y/z/"},
		{name: "mkdir -m", args: []string{"mkdir", "-m", "0750", "m"}, check: func(t *testing.T, dir string) {
			if got := modeOf(t, filepath.Join(dir, "m")).Perm(); got != 0o750 {
				t.Errorf("mode = %o, want 750", got)
			}
		}},
		{name: "mkdir no operand", args: []string{"mkdir"}, status: 2, stderr: "missing operand"},
		{name: "rmdir", setup: []string{"x/y/"}, args: []string{"rmdir", "-p", "x/y"}, tree: ""},
		{name: "rm", setup: []string{"a=", "b="}, args: []string{"rm", "a"}, tree: "b"},
		{name: "rm dir without -r", setup: []string{"d/f="}, args: []string{"rm", "d"}, status: 1, stderr: "Is a directory", tree: "d/ d/f"},
		{name: "rm -rf", setup: []string{"d/e/f=", "l@d"}, args: []string{"rm", "-rf", "d", "missing"}, tree: "l@d"},
		{name: "rm link not target", setup: []string{"d/f=", "l@d"}, args: []string{"rm", "l"}, tree: "d/ d/f"},
		{name: "rm missing", args: []string{"rm", "missing"}, status: 1, stderr: "missing: No such file"},
		{name: "rm dot", setup: []string{"f="}, args: []string{"rm", "-rf", "."}, status: 1, stderr: "refusing", tree: "f"},
		{name: "rm dash file", setup: []string{"-x="}, args: []string{"rm", "--", "-x"}, tree: ""},
		{name: "cp file", setup: []string{"a=1"}, args: []string{"cp", "a", "b"}, tree: "a=1 b=1"},
		{name: "cp into dir", setup: []string{"a=1", "b=2", "d/"}, args: []string{"cp", "a", "b", "d"}, tree: "a=1 b=2 d/ d/a=1 d/b=2"},
		{name: "cp dir without -r", setup: []string{"d/"}, args: []string{"cp", "d", "e"}, status: 1, stderr: "omitting directory", tree: "d/"},
		{name: "cp -r", setup: []string{"d/f=1", "d/l@f", "d/s/"}, args: []string{"cp", "-r", "d", "e"},
			tree: "d/ d/f=1 d/l@f d/s/ e/ e/f=1 e/l@f e/s/"},
		{name: "cp follows operand link", setup: []string{"a=1", "l@a"}, args: []string{"cp", "l", "b"}, tree: "a=1 b=1 l@a"},
		{name: "cp -P keeps link", setup: []string{"a=1", "l@a"}, args: []string{"cp", "-P", "l", "b"}, tree: "a=1 b@a l@a"},
		{name: "cp into itself", setup: []string{"d/"}, args: []string{"cp", "-r", "d", "d/e"}, status: 1, stderr: "into itself"},
		{name: "cp -a keeps mode", setup: []string{"x*=1"}, args: []string{"cp", "-a", "x", "y"}, check: func(t *testing.T, dir string) {
			if got := modeOf(t, filepath.Join(dir, "y")).Perm(); got != 0o755 {
				t.Errorf("mode = %o, want 755", got)
			}
		}},
		{name: "mv", setup: []string{"a=1"}, args: []string{"mv", "a", "b"}, tree: "b=1"},
		{name: "mv into dir", setup: []string{"a=1", "b=2", "d/"}, args: []string{"mv", "a", "b", "d"}, tree: "d/ d/a=1 d/b=2"},
		{name: "mv -n", setup: []string{"a=1", "b=2"}, args: []string{"mv", "-n", "a", "b"}, tree: "a=1 b=2"},
		{name: "mv many onto file", setup: []string{"a=", "b=", "c="}, args: []string{"mv", "a", "b", "c"}, status: 1, stderr: "not a directory"},
		{name: "ln -s", setup: []string{"a="}, args: []string{"ln", "-s", "a", "l"}, tree: "a l@a"},
		{name: "ln -s exists", setup: []string{"a=", "l@x"}, args: []string{"ln", "-s", "a", "l"}, status: 1, stderr: "File exists", tree: "a l@x"},
		{name: "ln -sf", setup: []string{"a=", "l@x"}, args: []string{"ln", "-sf", "a", "l"}, tree: "a l@a"},
		{name: "ln -s into dir", setup: []string{"d/"}, args: []string{"ln", "-s", "/etc/passwd", "d"}, tree: "d/ d/passwd@/etc/passwd"},
		{name: "ln hard", setup: []string{"a=1"}, args: []string{"ln", "a", "b"}, tree: "a=1 b=1"},
		{name: "readlink", setup: []string{"l@a/b"}, args: []string{"readlink", "l"}, out: "a/b\n"},
		{name: "readlink not a link", setup: []string{"a="}, args: []string{"readlink", "a"}, status: 1},
		{name: "readlink -f", setup: []string{"d/a=", "l@d/a", "m@l"}, args: []string{"readlink", "-f", "m"}, out: "$DIR/d/a\n"},
		{name: "readlink -f dangling", setup: []string{"l@missing"}, args: []string{"readlink", "-f", "l"}, out: "$DIR/missing\n"},
		{name: "readlink -e dangling", setup: []string{"l@missing"}, args: []string{"readlink", "-e", "l"}, status: 1},
		{name: "readlink -m", args: []string{"readlink", "-m", "x/../y/z"}, out: "$DIR/y/z\n"},
		{name: "readlink -f loop", setup: []string{"a@b", "b@a"}, args: []string{"readlink", "-f", "a"}, status: 1},
		{name: "chmod octal", setup: []string{"a="}, args: []string{"chmod", "600", "a"}, check: wantMode("a", 0o600)},
		{name: "chmod symbolic", setup: []string{"a="}, args: []string{"chmod", "u+x,go-r", "a"}, check: wantMode("a", 0o700)},
		{name: "chmod -x", setup: []string{"a*="}, args: []string{"chmod", "-x", "a"}, check: wantMode("a", 0o644)},
		{name: "chmod -R", setup: []string{"d/e/f="}, args: []string{"chmod", "-R", "go=", "d"}, check: func(t *testing.T, dir string) {
			wantMode("d", 0o700)(t, dir)
			wantMode("d/e", 0o700)(t, dir)
			wantMode("d/e/f", 0o600)(t, dir)
		}},
		{name: "chmod bad mode", setup: []string{"a="}, args: []string{"chmod", "u+q", "a"}, status: 2, check: wantMode("a", 0o644)},
		{name: "touch", setup: []string{"a=1"}, args: []string{"touch", "a", "b"}, tree: "a=1 b"},
		{name: "mktemp -p", args: []string{"mktemp", "-p", ".", "foo.XXXXXX"}, contains: []string{"foo."}, check: func(t *testing.T, dir string) {
			if m, _ := filepath.Glob(filepath.Join(dir, "foo.??????")); len(m) != 1 {
				t.Errorf("files %v, want one foo.XXXXXX", m)
			}
		}},
		{name: "mktemp -d path", args: []string{"mktemp", "-d", "./x.XXXX"}, contains: []string{"/x."}, check: func(t *testing.T, dir string) {
			m, _ := filepath.Glob(filepath.Join(dir, "x.????"))
			if len(m) != 1 || !modeOf(t, m[0]).IsDir() {
				t.Errorf("dirs %v, want one x.XXXX", m)
			}
		}},
	})
}

func TestFind(t *testing.T) {
	tree := []string{"a/b=1", "a/e/", "c=", "D=", "l@c"}
	runUtilCases(t, []utilCase{
		{name: "all", setup: tree, args: []string{"find"}, out: ".\n./D\n./a\n./a/b\n./a/e\n./c\n./l\n"},
		{name: "start", setup: tree, args: []string{"find", "a", "$DIR/c"}, out: "a\na/b\na/e\n$DIR/c\n"},
		{name: "-name", setup: tree, args: []string{"find", ".", "-name", "[bc]"}, out: "./a/b\n./c\n"},
		{name: "-iname", setup: tree, args: []string{"find", ".", "-iname", "d"}, out: "./D\n"},
		{name: "-path", setup: tree, args: []string{"find", ".", "-path", "./a/*"}, out: "./a/b\n./a/e\n"},
		{name: "-type", setup: tree, args: []string{"find", ".", "-type", "d"}, out: ".\n./a\n./a/e\n"},
		{name: "-type l", setup: tree, args: []string{"find", ".", "-type", "l"}, out: "./l\n"},
		{name: "not", setup: tree, args: []string{"find", ".", "!", "-type", "d", "-not", "-name", "?"}, out: ""},
		{name: "depth", setup: tree, args: []string{"find", ".", "-mindepth", "1", "-maxdepth", "1", "-type", "f"}, out: "./D\n./c\n"},
		{name: "-empty", setup: tree, args: []string{"find", ".", "-empty"}, out: "./D\n./a/e\n./c\n"},
		{name: "-quit", setup: tree, args: []string{"find", ".", "-type", "f", "-print", "-quit"}, out: "./D\n"},
		{name: "-print0", setup: []string{"x="}, args: []string{"find", ".", "-print0"}, out: ".\x00./x\x00"},
		{name: "-exec ;", setup: tree, args: []string{"find", "a", "-type", "f", "-exec", "cat", "{}", ";"}, out: "1"},
		{name: "-exec +", setup: tree, args: []string{"find", ".", "-name", "?", "-exec", "echo", "got", "{}", "+"}, out: "got . ./D ./a ./a/b ./a/e ./c ./l\n"},
		{name: "-delete", setup: tree, args: []string{"find", "a", "-delete"}, tree: "D c l@c"},
		{name: "-newer", setup: tree, args: []string{"find", ".", "-newer", "nope"}, status: 1, stderr: "nope"},
		{name: "missing", args: []string{"find", "nope"}, status: 1, stderr: "'nope'"},
		{name: "-o", args: []string{"find", ".", "-o"}, status: 2, stderr: "not supported"},
	})
}

func wantMode(name string, want os.FileMode) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if got := modeOf(t, filepath.Join(dir, name)).Perm(); got != want {
			t.Errorf("%s: mode = %o, want %o", name, got, want)
		}
	}
}

func TestLs(t *testing.T) {
	entries := []string{"b=12345", "a=", ".h=", "d/x=", "l@a", "dl@missing", "x*="}
	runUtilCases(t, []utilCase{
		{name: "plain", setup: entries, args: []string{"ls"}, out: "a\nb\nd\ndl\nl\nx\n"},
		{name: "-1", setup: entries, args: []string{"ls", "-1"}, out: "a\nb\nd\ndl\nl\nx\n"},
		{name: "-a", setup: entries, args: []string{"ls", "-a"}, out: ".\n..\n.h\na\nb\nd\ndl\nl\nx\n"},
		{name: "-A", setup: entries, args: []string{"ls", "-A"}, out: ".h\na\nb\nd\ndl\nl\nx\n"},
		{name: "-F", setup: entries, args: []string{"ls", "-F"}, out: "a\nb\nd/\ndl@\nl@\nx*\n"},
		{name: "-r", setup: entries, args: []string{"ls", "-r"}, out: "x\nl\ndl\nd\nb\na\n"},
		{name: "-S", setup: []string{"s=1", "m=12", "l=123"}, args: []string{"ls", "-S"}, out: "l\nm\ns\n"},
		{name: "operands", setup: entries, args: []string{"ls", "d", "a", "b"}, out: "a\nb\n\nd:\nx\n"},
		{name: "-d", setup: entries, args: []string{"ls", "-d", "d"}, out: "d\n"},
		{name: "-R", setup: []string{"d/e/f="}, args: []string{"ls", "-R", "d"}, out: "d:\ne\n\nd/e:\nf\n"},
		{name: "-l", setup: entries, args: []string{"ls", "-ln"}, contains: []string{
			"total ", " 5 ", " b\n", "drwxr-xr-x ", "-rwxr-xr-x ", "l -> a\n", "dl -> missing (dangling)\n",
		}},
		{name: "missing", setup: entries, args: []string{"ls", "nope", "a"}, out: "a\n", status: 2, stderr: "cannot access 'nope'"},
	})
}

func TestTextUtilities(t *testing.T) {
	lines := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	runUtilCases(t, []utilCase{
		{name: "head", stdin: lines, args: []string{"head"}, out: "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"},
		{name: "head -n", stdin: lines, args: []string{"head", "-n", "2"}, out: "1\n2\n"},
		{name: "head -N", stdin: lines, args: []string{"head", "-3"}, out: "1\n2\n3\n"},
		{name: "head -c", stdin: lines, args: []string{"head", "-c", "3"}, out: "1\n2"},
		{name: "head files", setup: []string{"a=x\n", "b=y\n"}, args: []string{"head", "-n1", "a", "b"}, out: "==> a <==\nx\n\n==> b <==\ny\n"},
		{name: "head no newline", stdin: "a\nb", args: []string{"head", "-n", "5"}, out: "a\nb"},
		{name: "tail", stdin: lines, args: []string{"tail", "-n", "2"}, out: "11\n12\n"},
		{name: "tail -N", stdin: lines, args: []string{"tail", "-1"}, out: "12\n"},
		{name: "tail +N", stdin: lines, args: []string{"tail", "-n", "+11"}, out: "11\n12\n"},
		{name: "tail -c", stdin: lines, args: []string{"tail", "-c", "3"}, out: "12\n"},
		{name: "tail file", setup: []string{"f=a\nb\nc"}, args: []string{"tail", "-n", "2", "f"}, out: "b\nc"},
		{name: "tail -f stdin", stdin: "a\n", args: []string{"tail", "-f"}, out: "a\n"},
		{name: "wc", stdin: "one two\nthree\n", args: []string{"wc"}, out: "        2         3        14\n"},
		{name: "wc -l", stdin: "a\nb\n", args: []string{"wc", "-l"}, out: "2\n"},
		{name: "wc -w file", setup: []string{"f=a b c"}, args: []string{"wc", "-w", "f"}, out: "3 f\n"},
		{name: "wc total", setup: []string{"f=a\n", "g=b\nc\n"}, args: []string{"wc", "-l", "f", "g"}, out: "1 f\n2 g\n3 total\n"},
		{name: "wc -m utf8", stdin: "héllo", args: []string{"wc", "-mc"}, out: "        5         6\n"},
		{name: "tee", stdin: "x\n", args: []string{"tee", "f"}, out: "x\n", tree: "f=x\n"},
		{name: "tee -a", stdin: "y\n", setup: []string{"f=x\n"}, args: []string{"tee", "-a", "f"}, out: "y\n", tree: "f=x\ny\n"},
		{name: "basename", args: []string{"basename", "/a/b.txt", ".txt"}, out: "b\n"},
		{name: "basename slash", args: []string{"basename", "/a/b/"}, out: "b\n"},
		{name: "dirname", args: []string{"dirname", "/a/b/"}, out: "/a\n"},
		{name: "dirname rel", args: []string{"dirname", "a"}, out: ".\n"},
		{name: "dirname root", args: []string{"dirname", "//"}, out: "/\n"},
		{name: "echo", args: []string{"echo", "-n", "a", "b"}, out: "a b"},
		{name: "printf", args: []string{"printf", "%s-%d\n", "x", "3"}, out: "x-3\n"},
		{name: "pwd", args: []string{"pwd"}, out: "$DIR\n"},
		{name: "true", args: []string{"true"}},
		{name: "false", args: []string{"false"}, status: 1},
		{name: "test", setup: []string{"d/"}, args: []string{"test", "-d", "d"}},
		{name: "test false", args: []string{"test", "-e", "missing"}, status: 1},
		{name: "[", args: []string{"[", "a", "=", "a", "]"}},
	})
}

func TestGrep(t *testing.T) {
	text := "alpha\nBeta\ngamma delta\na+b\n(x)\n"
	runUtilCases(t, []utilCase{
		{name: "basic", stdin: text, args: []string{"grep", "ta"}, out: "Beta\ngamma delta\n"},
		{name: "none", stdin: text, args: []string{"grep", "zzz"}, status: 1},
		{name: "-i", stdin: text, args: []string{"grep", "-i", "beta"}, out: "Beta\n"},
		{name: "-v", stdin: text, args: []string{"grep", "-v", "a"}, out: "(x)\n"},
		{name: "-n", stdin: text, args: []string{"grep", "-n", "^g"}, out: "3:gamma delta\n"},
		{name: "-c", stdin: text, args: []string{"grep", "-c", "a"}, out: "4\n"},
		{name: "-q", stdin: text, args: []string{"grep", "-q", "alpha"}},
		{name: "-q none", stdin: text, args: []string{"grep", "-q", "omega"}, status: 1},
		{name: "BRE plus is literal", stdin: text, args: []string{"grep", "a+b"}, out: "a+b\n"},
		{name: "ERE plus", stdin: text, args: []string{"grep", "-E", "^a+l"}, out: "alpha\n"},
		{name: "BRE group", stdin: text, args: []string{"grep", `\(ph\)\{1\}a`}, out: "alpha\n"},
		{name: "BRE parens literal", stdin: text, args: []string{"grep", "(x)"}, out: "(x)\n"},
		{name: "BRE alternation", stdin: text, args: []string{"grep", `alpha\|Beta`}, out: "alpha\nBeta\n"},
		{name: "ERE word anchors", stdin: text, args: []string{"grep", "-E", `\<delta\>`}, out: "gamma delta\n"},
		{name: "ERE alternation", stdin: text, args: []string{"grep", "-E", "alpha|Beta"}, out: "alpha\nBeta\n"},
		{name: "-F", stdin: text, args: []string{"grep", "-F", "a+b"}, out: "a+b\n"},
		{name: "-w", stdin: text, args: []string{"grep", "-w", "delta"}, out: "gamma delta\n"},
		{name: "-w no", stdin: text, args: []string{"grep", "-w", "elt"}, status: 1},
		{name: "-x", stdin: text, args: []string{"grep", "-x", "alph"}, status: 1},
		{name: "-o", stdin: text, args: []string{"grep", "-o", "[a-z]*ta"}, out: "eta\ndelta\n"},
		{name: "-e -e", stdin: text, args: []string{"grep", "-e", "alpha", "-e", "^(x"}, out: "alpha\n(x)\n"},
		{name: "bracket class", stdin: text, args: []string{"grep", "^[[:upper:]]"}, out: "Beta\n"},
		{name: "bracket backslash", stdin: "a\\b\nab\n", args: []string{"grep", `a[\]b`}, out: "a\\b\n"},
		{name: "star first", stdin: "*x\nx\n", args: []string{"grep", "*x"}, out: "*x\n"},
		{name: "files", setup: []string{"f=hit\n", "g=miss\n"}, args: []string{"grep", "hit", "f", "g"}, out: "f:hit\n"},
		{name: "-l", setup: []string{"f=hit\n", "g=miss\n"}, args: []string{"grep", "-l", "i", "f", "g"}, out: "f\ng\n"},
		{name: "-r", setup: []string{"d/e/f=hit\n", "d/g=miss\n"}, args: []string{"grep", "-r", "hit", "d"}, out: "d/e/f:hit\n"},
		{name: "missing file", setup: []string{"f=hit\n"}, args: []string{"grep", "hit", "f", "nope"}, out: "f:hit\n", status: 2, stderr: "nope"},
		{name: "-s", args: []string{"grep", "-s", "x", "nope"}, status: 2},
		{name: "bad regexp", args: []string{"grep", "-E", "a("}, status: 2},
		{name: "backreference", args: []string{"grep", `\(a\)\1`}, status: 2, stderr: "back-reference"},
	})
}

func TestSystemUtilities(t *testing.T) {
	machine := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	runUtilCases(t, []utilCase{
		{name: "uname", args: []string{"uname"}, out: "Linux\n"},
		{name: "uname -sm", args: []string{"uname", "-s", "-m"}, out: "Linux " + machine + "\n"},
		{name: "id -u", args: []string{"id", "-u"}, out: strconv.Itoa(os.Geteuid()) + "\n"},
		{name: "id", args: []string{"id"}, contains: []string{"uid=" + strconv.Itoa(os.Geteuid()), " gid=", " groups="}},
		{name: "sleep", args: []string{"sleep", "0.01", "0s"}},
		{name: "sleep bad", args: []string{"sleep", "soon"}, status: 2},
		{name: "kill -l", args: []string{"kill", "-l", "15", "143", "HUP"}, out: "TERM\nTERM\n1\n"},
		{name: "kill -0 self", args: []string{"kill", "-0", strconv.Itoa(os.Getpid())}},
		{name: "kill bad signal", args: []string{"kill", "-s", "NOPE", "1"}, status: 2},
		{name: "kill job id", args: []string{"kill", "g1"}, status: 1, stderr: "not a process id"},
		{name: "env -i", args: []string{"env", "-i", "A=1", "B=2"}, out: "A=1\nB=2\n"},
		{name: "env -u", args: []string{"env", "-u", "PATH", "-u", "HOME", "-u", "LC_ALL"}, out: ""},
		{name: "env runs utility", args: []string{"env", "-i", "X=y", "env"}, out: "X=y\n"},
		{name: "env runs builtin", args: []string{"env", "echo", "hi"}, out: "hi\n"},
		{name: "env not found", args: []string{"env", "nosuchcommand"}, status: 127, stderr: "nosuchcommand: not found"},
	})
}

func TestChown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	runUtilCases(t, []utilCase{
		{name: "numeric", setup: []string{"a=", "d/f="}, args: []string{"chown", "-R", "12:34", "a", "d"}, check: func(t *testing.T, dir string) {
			for _, p := range []string{"a", "d", "d/f"} {
				fi, err := os.Stat(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}
				if uid, gid := ownerOf(fi); uid != 12 || gid != 34 {
					t.Errorf("%s: owner %d:%d, want 12:34", p, uid, gid)
				}
			}
		}},
		{name: "unknown user", setup: []string{"a="}, args: []string{"chown", "no-such-user-here", "a"}, status: 1, stderr: "invalid user"},
	})
}
