package nixfix

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Store paths of the fixtures.
var (
	glibc   = sp("glibc", "glibc-2.40-66")
	glibcM  = sp("glibc-missing", "glibc-2.40-66")
	bash    = sp("bash", "bash-5.2p37")
	bashM   = sp("bash-missing", "bash-5.2p37")
	bashX   = sp("bash-x", "bash-5.3") // no same-name candidate
	helloP  = sp("hello", "hello-2.12.1")
	helloP2 = sp("hello-2", "hello-2.12.1")
	helloM  = sp("hello-missing", "hello-2.12.1")
	env     = sp("env", "app-env")
)

// want is an expected finding ("kind path resolution [reason]") or action
// ("op path [target]").
type want []string

type fixtureCase struct {
	name  string
	build func(f *fixture)
	args  []string
	opts  func(o *Options)
	// result and exit of the repair run.
	result Result
	exit   int
	// findings lists every finding, exactly; actions every action.
	findings want
	actions  want
	errors   []string // error codes
	// check runs extra assertions on the repaired tree and the report.
	check func(t *testing.T, f *fixture, rep *Report)
}

// base are the actions of.
var base = want{"mkdir /.quilt", "mkdir /.quilt/bin", "placeholder /.quilt/bin/sh", "symlink /.quilt/bin/env sh"}

func join(ws ...want) want { return slices.Concat(ws...) }

// healthy fills f with a working layered image: glibc, bash, hello and
// links to them, /usr/bin/env included.
func healthy(f *fixture) {
	f.glibc(glibc)
	f.bash(bash)
	f.hello(helloP, glibc)
	f.link("/bin/sh", bash+"/bin/sh")
	f.link("/bin/bash", bash+"/bin/bash")
	f.link("/bin/hello", helloP+"/bin/hello")
	f.link("/usr/bin/env", bash+"/bin/bash")
}

// shellOnly fills f with bash, /bin/sh and /usr/bin/env.
func shellOnly(f *fixture) {
	f.bash(bash)
	f.link("/bin/sh", bash+"/bin/sh")
	f.link("/usr/bin/env", bash+"/bin/bash")
}

var fixtureCases = []fixtureCase{{
	name:   "healthy layered image",
	build:  healthy,
	args:   []string{"/bin/hello", "hi"},
	result: ResultOK,
}, {
	name: "no shell and no env (FM-1, FM-2)",
	build: func(f *fixture) {
		f.glibc(glibc)
		f.hello(helloP, glibc)
		f.link("/bin/hello", helloP+"/bin/hello")
	},
	args:     []string{"/bin/hello"},
	result:   ResultOK,
	findings: want{"missing-bin-sh /bin/sh repaired", "missing-usr-bin-env /usr/bin/env repaired"},
	actions: join(base, want{"symlink /bin/sh ../.quilt/bin/sh", "mkdir /usr", "mkdir /usr/bin",
		"symlink /usr/bin/env ../../.quilt/bin/env"}),
	check: func(t *testing.T, f *fixture, rep *Report) {
		sh := testShell(t)
		if m, err := ShellMount(f.root, sh); err != nil || m.Source != sh.Path {
			t.Errorf("ShellMount = %+v, %v", m, err)
		}
		st, err := os.Lstat(f.abs(shellPlaceholder))
		if err != nil || st.Mode() != 0 || st.Size() != 0 {
			t.Errorf("mount point: %v %v", st, err)
		}
		for _, d := range []string{"/.quilt", "/.quilt/bin", "/usr", "/usr/bin"} {
			if st, err := os.Lstat(f.abs(d)); err != nil || st.Mode() != os.ModeDir|0o755 {
				t.Errorf("%s: %v %v, want a 0755 directory", d, st, err)
			}
		}
	},
}, {
	name: "install mode copy",
	build: func(f *fixture) {
		f.dir(helloP)
		f.link("/bin/hello", helloP+"/bin/hello")
	},
	opts:   func(o *Options) { o.Install, o.ShellBinary = InstallCopy, copyShell },
	result: ResultPartial,
	findings: want{"dangling-link /bin/hello unresolved missing", "missing-bin-sh /bin/sh repaired",
		"missing-usr-bin-env /usr/bin/env repaired"},
	actions: want{"mkdir /.quilt", "mkdir /.quilt/bin", "copy /.quilt/bin/sh", "symlink /.quilt/bin/env sh",
		"symlink /bin/sh ../.quilt/bin/sh", "mkdir /usr", "mkdir /usr/bin", "symlink /usr/bin/env ../../.quilt/bin/env"},
	check: func(t *testing.T, f *fixture, rep *Report) {
		got, err := os.ReadFile(f.abs(shellPlaceholder))
		want, _ := os.ReadFile(copyShell.Path)
		st, _ := os.Lstat(f.abs(shellPlaceholder))
		if err != nil || string(got) != string(want) || st.Mode() != 0o555 {
			t.Errorf("copied shell: mode %v, %v", st.Mode(), err)
		}
		if a := rep.Actions[2]; a.SHA256 != copyShell.SHA256 {
			t.Errorf("copy action sha256 %q", a.SHA256)
		}
	},
}, {
	name: "dangling store link with one same-name candidate (FM-3)",
	build: func(f *fixture) {
		f.glibc(glibc)
		shellOnly(f)
		f.hello(helloP, glibc)
		f.link("/bin/hello", helloM+"/bin/hello")
	},
	args:     []string{"/bin/hello"},
	result:   ResultOK,
	findings: want{"dangling-store-link /bin/hello repaired"},
	actions:  want{"symlink " + helloM + " " + filepath.Base(helloP)},
	check: func(t *testing.T, f *fixture, rep *Report) {
		if got := rep.Findings[0].Candidates; !slices.Equal(got, []string{helloP}) {
			t.Errorf("candidates = %q", got)
		}
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "different build") {
			t.Errorf("warnings = %q, want the different-build warning", rep.Warnings)
		}
	},
}, {
	name: "two same-name candidates: never guess",
	build: func(f *fixture) {
		f.glibc(glibc)
		shellOnly(f)
		f.hello(helloP, glibc)
		f.hello(helloP2, glibc)
		f.link("/bin/hello", helloM+"/bin/hello")
	},
	result:   ResultPartial,
	findings: want{"dangling-store-link /bin/hello unresolved ambiguous"},
	check: func(t *testing.T, f *fixture, rep *Report) {
		want := []string{helloP, helloP2}
		slices.Sort(want)
		if got := rep.Findings[0].Candidates; !slices.Equal(got, want) {
			t.Errorf("candidates = %q, want %q in byte order", got, want)
		}
	},
}, {
	name: "other version only: a hint, no substitute",
	build: func(f *fixture) {
		f.glibc(glibc)
		shellOnly(f)
		f.hello(sp("old", "hello-2.12"), glibc)
		f.link("/bin/hello", helloM+"/bin/hello")
	},
	result:   ResultPartial,
	findings: want{"dangling-store-link /bin/hello unresolved no-candidate"},
	check: func(t *testing.T, f *fixture, rep *Report) {
		if got := rep.Findings[0].Hints; !slices.Equal(got, []string{sp("old", "hello-2.12")}) {
			t.Errorf("hints = %q", got)
		}
	},
}, {
	name: "candidate lacks the referenced sub-path",
	build: func(f *fixture) {
		shellOnly(f)
		f.dir(helloP + "/share")
		f.link("/bin/hello", helloM+"/bin/hello")
	},
	result:   ResultPartial,
	findings: want{"dangling-store-link /bin/hello unresolved candidate-subpath-missing"},
}, {
	name: "nothing to substitute: missing store path, relative footgun link, link in a store path",
	build: func(f *fixture) {
		shellOnly(f)
		f.link("/bin/foo", sp("foo", "foo-1.0")+"/bin/foo")
		f.link("/etc/ssl/certs/ca-bundle.crt", sp("cacert", "nss-cacert-3.104")+"/etc/ssl/certs/ca-bundle.crt")
		f.link("/bin/ijs", "../lib/node_modules/ijavascript/bin/ijavascript.js")
		f.link(bash+"/lib/environment.d/10-env", "../../../../../etc/environment")
		f.link(bash+"/bin/missing-in-store", bash+"/libexec/gone")
	},
	result: ResultPartial,
	findings: want{"dangling-store-link /bin/foo unresolved no-candidate",
		"dangling-store-link /etc/ssl/certs/ca-bundle.crt unresolved no-candidate",
		"dangling-link /bin/ijs unresolved not-store",
		"dangling-link " + bash + "/lib/environment.d/10-env unresolved not-store",
		"dangling-link " + bash + "/bin/missing-in-store unresolved missing"},
	check: func(t *testing.T, f *fixture, rep *Report) {
		for _, fd := range rep.Findings {
			wantSev := SeverityWarning
			if strings.HasPrefix(fd.Path, StoreDir) {
				wantSev = SeverityInfo // dangling on purpose inside a store path
			}
			if fd.Severity != wantSev {
				t.Errorf("%s: severity %s, want %s", fd.Path, fd.Severity, wantSev)
			}
		}
	},
}, {
	name: "symlink loops and a candidate that loops back (FM-8)",
	build: func(f *fixture) {
		shellOnly(f)
		f.link("/bin/loop-a", "loop-b")
		f.link("/bin/loop-b", "loop-a")
		f.link(sp("self", "selfref-1.0")+"/bin/self", "self")
		f.link("/bin/self", sp("self", "selfref-1.0")+"/bin/self")
		f.link(sp("lb", "loopy-1.0"), storeBase("la", "loopy-1.0"))
		f.link("/bin/loopy", sp("la", "loopy-1.0")+"/bin/loopy")
	},
	args:   []string{"/bin/loop-a"},
	result: ResultPartial,
	findings: want{"symlink-loop /bin/loop-a unresolved loop", "symlink-loop /bin/loop-b unresolved loop",
		"symlink-loop " + sp("self", "selfref-1.0") + "/bin/self unresolved loop", "symlink-loop /bin/self unresolved loop",
		"dangling-store-link /bin/loopy unresolved candidate-unresolvable",
		"dangling-store-link " + sp("lb", "loopy-1.0") + " unresolved candidate-unresolvable"},
}, {
	name: "links that escape under host resolution (FM-9)",
	build: func(f *fixture) {
		shellOnly(f)
		f.dir("/proc")
		f.dir("/etc")
		f.link("/bin/passwd", "../../../../../../../../host/etc/passwd")
		f.link("/bin/host-sh", filepath.Join(f.host, "bin/sh"))
		f.link(sp("evil", "evil-1.0")+"/bin/evil", "/proc/self/root/etc/shadow")
		f.link("/bin/evil", sp("evil", "evil-1.0")+"/bin/evil")
	},
	args:   []string{"/bin/host-sh"},
	result: ResultPartial,
	findings: want{"dangling-link /bin/passwd unresolved not-store", "dangling-link /bin/host-sh unresolved not-store",
		"dangling-link " + sp("evil", "evil-1.0") + "/bin/evil unresolved not-store", "dangling-link /bin/evil unresolved not-store"},
	check: func(t *testing.T, f *fixture, rep *Report) {
		for _, fd := range rep.Findings {
			escape, proc := fd.Path == "/bin/passwd", strings.Contains(fd.Path, "evil")
			if fd.LexicalEscape != escape || fd.ProcMagic != proc || fd.Severity != SeverityWarning {
				t.Errorf("%s: lexicalEscape %v procMagic %v severity %s", fd.Path, fd.LexicalEscape, fd.ProcMagic, fd.Severity)
			}
		}
	},
}, {
	name: "/.quilt is a symlink to a host directory",
	build: func(f *fixture) {
		f.glibc(glibc)
		f.hello(helloP, glibc)
		f.link("/bin/hello", helloP+"/bin/hello")
		f.link("/.quilt", filepath.Join(f.host, "usr/local"))
	},
	result: ResultPartial,
	findings: want{"unsafe-path /.quilt unresolved symlink", "missing-bin-sh /bin/sh unresolved unsafe",
		"missing-usr-bin-env /usr/bin/env unresolved unsafe"},
	errors: []string{CodeUnsafePath},
}, {
	name: "/.quilt/bin/sh is a symlink",
	build: func(f *fixture) {
		f.dir("/nix/store")
		f.link("/bin/hello", helloM+"/bin/hello")
		f.dir("/.quilt/bin")
		f.link("/.quilt/bin/sh", filepath.Join(f.host, "bin/sh"))
	},
	result: ResultPartial,
	findings: want{"dangling-store-link /bin/hello unresolved no-candidate", "unsafe-path /.quilt/bin/sh unresolved symlink",
		"missing-bin-sh /bin/sh unresolved unsafe", "missing-usr-bin-env /usr/bin/env unresolved unsafe"},
	errors: []string{CodeUnsafePath},
}, {
	name: "/nix is a symlink to a host store with a tempting candidate (SEC-11)",
	build: func(f *fixture) {
		f.file("/opt/sh", buildELF("", nil, nil), 0o555)
		f.link("/bin/sh", "/opt/sh")
		f.link("/nix", filepath.Join(f.host, "nix"))
		f.link("/bin/hello", sp("host", "hello-2.12.1")+"/bin/hello")
		f.link("/bin/other", helloM+"/bin/hello")
		f.elf("/opt/app", glibcM+"/lib/ld-linux-x86-64.so.2", nil)
	},
	args:   []string{"/opt/app"},
	result: ResultPartial,
	findings: want{"store-absent /nix/store unresolved unsafe", "unsafe-path /nix unresolved symlink",
		"dangling-link /nix unresolved not-store",
		"dangling-store-link /bin/hello unresolved store-absent", "dangling-store-link /bin/other unresolved store-absent",
		"missing-elf-interpreter /opt/app unresolved store-absent", "missing-usr-bin-env /usr/bin/env repaired"},
	actions: join(base, want{"mkdir /usr", "mkdir /usr/bin", "symlink /usr/bin/env ../../.quilt/bin/env"}),
}, {
	name: "/bin is a relative link climbing out to the host",
	build: func(f *fixture) {
		f.dir(sp("x", "x-1.0"))
		f.link("/bin", "../../host/bin")
		f.link("/usr/bin/env", "/bin/sh")
	},
	result: ResultOK,
	findings: want{"dangling-link /bin superseded not-store", "missing-bin-sh /bin/sh repaired",
		"dangling-link /usr/bin/env repaired", "missing-usr-bin-env /usr/bin/env repaired"},
	actions: join(base, want{"replace-dangling-dirlink /bin", "symlink /bin/sh ../.quilt/bin/sh"}),
}, {
	name: "/usr is a symlink to a host directory",
	build: func(f *fixture) {
		f.bash(bash)
		f.link("/bin/sh", bash+"/bin/sh")
		f.link("/usr", filepath.Join(f.host, "usr"))
	},
	result: ResultPartial,
	findings: want{"dangling-link /usr unresolved not-store", "unsafe-path /usr unresolved symlink",
		"missing-usr-bin-env /usr/bin/env unresolved unsafe"},
	actions: base,
	errors:  []string{CodeUnsafePath},
}, {
	name: "script interpreter in a missing store path, same-name bash present (FM-6)",
	build: func(f *fixture) {
		shellOnly(f)
		f.script(sp("app", "app-1.0")+"/bin/app", bashM+"/bin/sh")
		f.link("/bin/app", sp("app", "app-1.0")+"/bin/app")
	},
	args:     []string{"/bin/app"},
	result:   ResultOK,
	findings: want{"missing-script-interpreter " + sp("app", "app-1.0") + "/bin/app repaired"},
	actions:  want{"symlink " + bashM + " " + filepath.Base(bash)},
	check: func(t *testing.T, f *fixture, rep *Report) {
		fd := rep.Findings[0]
		if fd.Interpreter != bashM+"/bin/sh" || fd.Missing != bashM || fd.Severity != SeverityError || !slices.Equal(fd.Via, []string{"/bin/app"}) {
			t.Errorf("finding = %+v", fd)
		}
		if _, err := os.Lstat(f.abs(quiltDir)); err == nil {
			t.Error("/.quilt created only for the report")
		}
	},
}, {
	name: "ELF interpreter and RUNPATH in a missing glibc, same-name glibc present (FM-5)",
	build: func(f *fixture) {
		shellOnly(f)
		f.glibc(glibc)
		f.hello(helloP, glibcM)
		f.link("/bin/hello", helloP+"/bin/hello")
	},
	args:   []string{"hello"}, // found through PATH
	result: ResultOK,
	findings: want{"missing-elf-interpreter " + helloP + "/bin/hello repaired",
		"missing-runpath-entry " + helloP + "/bin/hello repaired",
		"missing-needed-library " + helloP + "/bin/hello repaired"},
	actions: want{"symlink " + glibcM + " " + filepath.Base(glibc)},
	check: func(t *testing.T, f *fixture, rep *Report) {
		if fd := rep.Findings[0]; fd.Severity != SeverityError || fd.Interpreter != glibcM+"/lib/ld-linux-x86-64.so.2" {
			t.Errorf("interpreter finding = %+v, want severity error on the entrypoint", fd)
		}
		if a := rep.Actions[0]; !slices.Equal(a.Fixes, []string{"F1", "F2", "F3"}) {
			t.Errorf("alias fixes %q", a.Fixes)
		}
	},
}, {
	name: "ELF interpreter in a missing glibc, no candidate",
	build: func(f *fixture) {
		shellOnly(f)
		f.hello(helloP, glibcM)
		f.link("/bin/hello", helloP+"/bin/hello")
	},
	result: ResultPartial,
	findings: want{"missing-elf-interpreter " + helloP + "/bin/hello unresolved no-candidate",
		"missing-runpath-entry " + helloP + "/bin/hello unresolved no-candidate",
		"missing-needed-library " + helloP + "/bin/hello unresolved no-candidate"},
}, {
	name: "an alias makes a binary reachable whose own glibc is missing",
	build: func(f *fixture) {
		shellOnly(f)
		f.glibc(glibc)
		f.hello(helloP, glibcM) // only reachable once helloM is aliased
		f.link("/bin/hello", helloM+"/bin/hello")
	},
	result: ResultOK,
	findings: want{"dangling-store-link /bin/hello repaired",
		"missing-elf-interpreter " + helloP + "/bin/hello repaired",
		"missing-runpath-entry " + helloP + "/bin/hello repaired",
		"missing-needed-library " + helloP + "/bin/hello repaired"},
	actions: want{"symlink " + helloM + " " + filepath.Base(helloP), "symlink " + glibcM + " " + filepath.Base(glibc)},
}, {
	name: "NixOS system tarball: init script, no /bin, no /usr",
	build: func(f *fixture) {
		f.glibc(glibc)
		f.bash(bash)
		f.script("/sbin/init", bash+"/bin/bash")
		f.file(sp("os", "etc-os-release"), []byte("ID=nixos\n"), 0o444)
		f.link("/etc/os-release", sp("os", "etc-os-release"))
		f.dir("/proc")
		f.dir("/dev")
	},
	args:     []string{"/sbin/init"},
	result:   ResultOK,
	findings: want{"missing-bin-sh /bin/sh repaired", "missing-usr-bin-env /usr/bin/env repaired"},
	actions: join(base, want{"mkdir /bin", "symlink /bin/sh ../.quilt/bin/sh", "mkdir /usr", "mkdir /usr/bin",
		"symlink /usr/bin/env ../../.quilt/bin/env"}),
}, {
	name: "/bin is a link into a store env without sh (FM-7)",
	build: func(f *fixture) {
		f.glibc(glibc)
		f.hello(helloP, glibc)
		f.link(env+"/bin/hello", helloP+"/bin/hello")
		f.link(env+"/bin/.hidden", helloP+"/bin/hello")
		f.link("/bin", env+"/bin")
	},
	args:     []string{"/bin/hello"},
	result:   ResultOK,
	findings: want{"missing-bin-sh /bin/sh repaired", "missing-usr-bin-env /usr/bin/env repaired"},
	actions: join(base, want{"expand-dirlink /bin ../" + env[1:] + "/bin", "symlink /bin/sh ../.quilt/bin/sh",
		"mkdir /usr", "mkdir /usr/bin", "symlink /usr/bin/env ../../.quilt/bin/env"}),
	check: func(t *testing.T, f *fixture, rep *Report) {
		for _, e := range []string{".hidden", "hello"} {
			if got, _ := os.Readlink(f.abs("/bin/" + e)); got != "../"+env[1:]+"/bin/"+e {
				t.Errorf("/bin/%s -> %q", e, got)
			}
		}
		if _, err := os.Lstat(f.abs(env + "/bin/sh")); err == nil {
			t.Error("sh created inside a store path")
		}
		if a := rep.Actions[4]; a.PreviousTarget != env+"/bin" || !slices.Equal(a.Entries, []string{".hidden", "hello"}) {
			t.Errorf("expand-dirlink action = %+v", a)
		}
	},
}, {
	name: "/bin is a dangling link into a missing store env",
	build: func(f *fixture) {
		f.dir("/nix/store")
		f.link("/bin", env+"/bin")
	},
	result: ResultOK,
	findings: want{"dangling-store-link /bin superseded no-candidate", "missing-bin-sh /bin/sh repaired",
		"missing-usr-bin-env /usr/bin/env repaired"},
	actions: join(base, want{"replace-dangling-dirlink /bin", "symlink /bin/sh ../.quilt/bin/sh", "mkdir /usr",
		"mkdir /usr/bin", "symlink /usr/bin/env ../../.quilt/bin/env"}),
}, {
	name: "image without a store (FM-4)",
	build: func(f *fixture) {
		f.link("/bin/hello", helloP+"/bin/hello")
		f.link("/bin/bash", bash+"/bin/bash")
	},
	result: ResultPartial,
	findings: want{"store-absent /nix/store unresolved missing", "dangling-store-link /bin/hello unresolved store-absent",
		"dangling-store-link /bin/bash unresolved store-absent", "missing-bin-sh /bin/sh repaired",
		"missing-usr-bin-env /usr/bin/env repaired"},
	actions: join(base, want{"symlink /bin/sh ../.quilt/bin/sh", "mkdir /usr", "mkdir /usr/bin",
		"symlink /usr/bin/env ../../.quilt/bin/env"}),
}, {
	name: "/bin/sh dangles into a missing bash: replaced",
	build: func(f *fixture) {
		f.glibc(glibc)
		f.link("/bin/sh", bashM+"/bin/bash")
		f.link("/usr/bin/env", glibc+"/lib/ld-linux-x86-64.so.2")
	},
	result:   ResultOK,
	findings: want{"dangling-store-link /bin/sh superseded no-candidate", "missing-bin-sh /bin/sh repaired"},
	actions:  join(base, want{"replace-symlink /bin/sh ../.quilt/bin/sh"}),
	check: func(t *testing.T, f *fixture, rep *Report) {
		if a := rep.Actions[4]; a.PreviousTarget != bashM+"/bin/bash" {
			t.Errorf("previousTarget = %q", a.PreviousTarget)
		}
	},
}, {
	name: "/bin/sh is a regular file that cannot run: never deleted",
	build: func(f *fixture) {
		f.dir("/nix/store/" + storeBase("x", "x-1"))
		f.file("/bin/sh", []byte("not a shell\n"), 0o644)
		f.link("/usr/bin/env", "/bin/sh")
	},
	result:   ResultOK, // missing-bin-sh is info
	findings: want{"missing-bin-sh /bin/sh unresolved unsafe"},
	actions:  base,
	check: func(t *testing.T, f *fixture, rep *Report) {
		if b, _ := os.ReadFile(f.abs("/bin/sh")); string(b) != "not a shell\n" {
			t.Error("/bin/sh changed")
		}
	},
}, {
	name:     "foreign FHS binary, default policy (FM-10)",
	build:    fhsImage,
	result:   ResultPartial,
	findings: want{"missing-elf-interpreter /opt/foreign/bin/tool unresolved not-store"},
}, {
	name:     "foreign FHS binary, fhsLoader",
	build:    fhsImage,
	opts:     func(o *Options) { o.Policy.FHSLoader = true },
	result:   ResultOK,
	findings: want{"missing-elf-interpreter /opt/foreign/bin/tool repaired"},
	actions:  want{"mkdir /lib64", "symlink /lib64/ld-linux-x86-64.so.2 ../" + glibc[1:] + "/lib/ld-linux-x86-64.so.2"},
}, {
	name:   "bash script interpreter with no candidate, default policy",
	build:  shimImage,
	result: ResultPartial,
	findings: want{"missing-script-interpreter " + sp("app", "app-1.0") + "/bin/run unresolved no-candidate",
		"missing-script-interpreter " + sp("app", "app-1.0") + "/bin/tool.py unresolved no-candidate"},
}, {
	name:   "bash script interpreter with no candidate, shimShells",
	build:  shimImage,
	opts:   func(o *Options) { o.Policy.ShimShells = true },
	result: ResultPartial,
	findings: want{"missing-script-interpreter " + sp("app", "app-1.0") + "/bin/run repaired",
		"missing-script-interpreter " + sp("app", "app-1.0") + "/bin/tool.py unresolved no-candidate"},
	actions: join(base, want{"mkdir " + bashX, "mkdir " + bashX + "/bin", "symlink " + bashX + "/bin/bash ../../../../.quilt/bin/sh"}),
}, {
	name: "substitute=none",
	build: func(f *fixture) {
		shellOnly(f)
		f.glibc(glibc)
		f.hello(helloP, glibc)
		f.link("/bin/hello", helloM+"/bin/hello")
	},
	opts:     func(o *Options) { o.Policy.Substitute = SubstituteNone },
	result:   ResultPartial,
	findings: want{"dangling-store-link /bin/hello unresolved policy-disabled"},
}, {
	name: "strict turns partial into an error",
	build: func(f *fixture) {
		shellOnly(f)
		f.link("/bin/foo", sp("foo", "foo-1.0")+"/bin/foo")
	},
	opts:     func(o *Options) { o.Policy.Strict = true },
	result:   ResultError,
	exit:     ExitStrict,
	findings: want{"dangling-store-link /bin/foo unresolved no-candidate"},
}, {
	name: "shell=never",
	build: func(f *fixture) {
		f.link("/bin/hello", helloP+"/bin/hello")
		f.dir("/nix/store")
	},
	opts:   func(o *Options) { o.Shell = ShellNever },
	result: ResultPartial,
	findings: want{"dangling-store-link /bin/hello unresolved no-candidate", "missing-bin-sh /bin/sh unresolved policy-disabled",
		"missing-usr-bin-env /usr/bin/env unresolved policy-disabled"},
}, {
	name:    "shell=always on a healthy image: only the mount point",
	build:   healthy,
	opts:    func(o *Options) { o.Shell = ShellAlways },
	result:  ResultOK,
	actions: base,
}, {
	name: "not Nix-like: skipped, nothing changes",
	build: func(f *fixture) {
		f.file("/bin/busybox", buildELF("", nil, nil), 0o755)
		f.link("/bin/true", "busybox")
		f.link("/bin/dangling", "/nowhere")
	},
	result: ResultSkipped,
}, {
	name: "not Nix-like with shell=always: provisioning only",
	build: func(f *fixture) {
		f.file("/bin/busybox", buildELF("", nil, nil), 0o755)
	},
	opts:    func(o *Options) { o.Shell = ShellAlways },
	result:  ResultSkipped,
	actions: join(base, want{"symlink /bin/sh ../.quilt/bin/sh", "mkdir /usr", "mkdir /usr/bin", "symlink /usr/bin/env ../../.quilt/bin/env"}),
}, {
	name: "Nix-like only through the entrypoint's interpreter",
	build: func(f *fixture) {
		f.file("/bin/sh", buildELF("", nil, nil), 0o755)
		f.link("/usr/bin/env", "/bin/sh")
		f.elf("/app", glibcM+"/lib/ld-linux-x86-64.so.2", nil)
	},
	args:   []string{"/app"},
	result: ResultPartial,
	findings: want{"store-absent /nix/store unresolved missing",
		"missing-elf-interpreter /app unresolved store-absent"},
}, {
	name: "scan budget",
	build: func(f *fixture) {
		healthy(f)
		for i := range 20 {
			f.dir(fmt.Sprintf("/data/%02d", i))
		}
	},
	opts:     func(o *Options) { o.Budgets.MaxEntries = 10 },
	result:   ResultPartial,
	findings: want{"scan-truncated / unresolved"},
}}

func fhsImage(f *fixture) {
	shellOnly(f)
	f.glibc(glibc)
	f.elf("/opt/foreign/bin/tool", "/lib64/ld-linux-x86-64.so.2", nil, "libc.so.6")
	f.link("/bin/tool", "/opt/foreign/bin/tool")
}

func shimImage(f *fixture) {
	shellOnly(f)
	app := sp("app", "app-1.0")
	f.script(app+"/bin/run", bashX+"/bin/bash")
	f.script(app+"/bin/tool.py", sp("py", "python3-3.12.8")+"/bin/python3")
	f.link("/bin/run", app+"/bin/run")
	f.link("/bin/tool.py", app+"/bin/tool.py")
}
