package nixfix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// copyShell is the shell binary of the copy-mode case, set by TestFixtures.
var copyShell ShellBinary

// testShell installs a stand-in quilt-sh in a temp dir.
func testShell(t *testing.T) ShellBinary {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, buildELF("", nil, nil), 0o755); err != nil {
		t.Fatal(err)
	}
	sh, err := InstallShell(src, filepath.Join(dir, "quilt-sh"))
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func TestFixtures(t *testing.T) {
	copyShell = testShell(t)
	for _, tc := range fixtureCases {
		t.Run(tc.name, func(t *testing.T) { runFixtureCase(t, tc) })
	}
}

func runFixtureCase(t *testing.T, tc fixtureCase) {
	f := newFixture(t)
	tc.build(f)
	f.seal()
	o := Options{Args: tc.args, Env: []string{"PATH=/bin:/usr/bin:/sbin:/usr/sbin"}}
	if tc.opts != nil {
		tc.opts(&o)
	}
	fdsBefore := openFds(t)
	defer func() {
		if n := openFds(t); n != fdsBefore {
			t.Errorf("%d fds open after the runs, %d before", n, fdsBefore)
		}
	}()
	hostBefore := contentDigest(t, f.host)
	treeBefore := manifest(t, f.root)
	defer func() {
		if contentDigest(t, f.host) != hostBefore {
			t.Error("the host directory outside the rootfs changed")
		}
		if names, _ := os.ReadDir(f.base); len(names) != 2 {
			t.Errorf("entries next to the rootfs: %v", names)
		}
	}()

	// Check mode writes nothing and exits 3 iff there is a warning or error.
	co := o
	co.Mode = ModeCheck
	crep, err := Run(f.root, co)
	if err != nil {
		t.Fatal(err)
	}
	if manifest(t, f.root) != treeBefore {
		t.Fatal("check mode changed the rootfs")
	}
	wantExit := ExitOK
	if crep.Summary.Findings.Error+crep.Summary.Findings.Warning > 0 {
		wantExit = ExitFindings
	}
	if crep.ExitCode != wantExit || len(crep.Actions) != 0 {
		t.Errorf("check: exit %d with %d actions, want exit %d", crep.ExitCode, len(crep.Actions), wantExit)
	}

	rep, err := Run(f.root, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Result != tc.result || rep.ExitCode != tc.exit {
		t.Errorf("result %s exit %d, want %s exit %d", rep.Result, rep.ExitCode, tc.result, tc.exit)
	}
	var gotF, gotA, gotE []string
	for _, fd := range rep.Findings {
		gotF = append(gotF, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", fd.Kind, fd.Path, fd.Resolution, fd.Reason)))
	}
	for _, a := range rep.Actions {
		gotA = append(gotA, strings.TrimSpace(fmt.Sprintf("%s %s %s", a.Op, a.Path, a.Target)))
	}
	for _, e := range rep.Errors {
		gotE = append(gotE, e.Code)
	}
	sameSet(t, "findings", gotF, tc.findings)
	sameSet(t, "actions", gotA, tc.actions)
	sameSet(t, "errors", gotE, tc.errors)
	if t.Failed() {
		var b strings.Builder
		rep.WriteText(&b)
		t.Logf("report:\n%s", b.String())
	}
	checkActionsInTree(t, f, rep)
	if _, err := os.Lstat(f.abs(inRootReport)); (err == nil) != (len(rep.Actions) > 0 && isDir(f.abs(quiltDir))) {
		t.Errorf("in-root report present = %v with %d actions", err == nil, len(rep.Actions))
	}
	if tc.check != nil {
		tc.check(t, f, rep)
	}

	// a second run changes nothing and says so.
	before := manifest(t, f.root)
	inRoot, _ := os.ReadFile(f.abs(inRootReport))
	again, err := Run(f.root, o)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(f.abs(inRootReport))
	if len(again.Actions) != 0 || manifest(t, f.root) != before || string(after) != string(inRoot) {
		t.Errorf("second run: %d actions, tree changed = %v", len(again.Actions), manifest(t, f.root) != before)
	}
	for _, fd := range again.Findings {
		if fd.Resolution == Repaired {
			t.Errorf("second run repaired %s %s", fd.Kind, fd.Path)
		}
	}

	// undo, from the in-root report when there is one, gives back
	// the original tree.
	actions := rep.Actions
	if len(inRoot) > 0 {
		loaded, err := ReadInRootReport(f.root)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(asMap(t, loaded.Actions), asMap(t, rep.Actions)) {
			t.Errorf("in-root report actions differ from the returned report's")
		}
		actions = loaded.Actions
	}
	steps, err := Undo(f.root, actions)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if !st.Undone {
			t.Errorf("undo %s %s: %s", st.Op, st.Path, st.Reason)
		}
	}
	if got := manifest(t, f.root); got != treeBefore {
		t.Errorf("tree after undo differs:\n%s", lineDiff(treeBefore, got))
	}
}

func isDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got  %q\n want %q", what, g, w)
	}
}

// checkActionsInTree verifies that every reported action is in the tree.
func checkActionsInTree(t *testing.T, f *fixture, rep *Report) {
	for _, a := range rep.Actions {
		st, err := os.Lstat(f.abs(a.Path))
		if err != nil {
			t.Errorf("action %s %s: %v", a.Op, a.Path, err)
			continue
		}
		switch a.Op {
		case OpMkdir, OpReplaceDanglingDirlink, OpExpandDirlink:
			if st.Mode() != os.ModeDir|0o755 {
				t.Errorf("%s %s: mode %v", a.Op, a.Path, st.Mode())
			}
		case OpPlaceholder:
			if st.Mode() != 0 || st.Size() != 0 {
				t.Errorf("placeholder %s: mode %v size %d", a.Path, st.Mode(), st.Size())
			}
		case OpSymlink, OpReplaceSymlink:
			if target, _ := os.Readlink(f.abs(a.Path)); target != a.Target || strings.HasPrefix(target, "/") {
				t.Errorf("%s %s -> %q, want the relative %q", a.Op, a.Path, target, a.Target)
			}
		}
	}
}

// TestUndoSkipsChanges: undo leaves alone what changed since the repair.
func TestUndoSkipsChanges(t *testing.T) {
	f := newFixture(t)
	f.glibc(glibc)
	f.hello(helloP, glibc)
	f.link("/bin/hello", helloM+"/bin/hello")
	f.link("/bin/sh", bashM+"/bin/bash")
	rep, err := Run(f.root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// After the repair, the image changes: /bin/sh is relinked and a file
	// appears in /usr/bin.
	os.Remove(f.abs("/bin/sh"))
	f.link("/bin/sh", "busybox")
	f.file("/usr/bin/tool", []byte("x"), 0o755)
	steps, err := Undo(f.root, rep.Actions)
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, st := range steps {
		if !st.Undone {
			skipped[st.Path] = true
		}
	}
	for _, p := range []string{"/bin/sh", "/usr/bin", "/usr"} {
		if !skipped[p] {
			t.Errorf("undo of %s not skipped", p)
		}
	}
	if got, _ := os.Readlink(f.abs("/bin/sh")); got != "busybox" {
		t.Errorf("/bin/sh -> %q, want the image's new link", got)
	}
	if _, err := os.Lstat(f.abs(helloM)); err == nil {
		t.Error("store alias not undone")
	}
	if _, err := os.Lstat(f.abs("/usr/bin/tool")); err != nil {
		t.Error("undo removed a file it did not create")
	}
}

// openFds counts this process's open file descriptors.
func openFds(t *testing.T) int {
	names, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(names)
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name   string
		rootfs string
		o      Options
		err    error
		code   string
	}{
		{"no rootfs", filepath.Join(t.TempDir(), "missing"), Options{}, ErrRootfs, CodeRootfs},
		{"rootfs is a file", os.Args[0], Options{}, ErrRootfs, CodeRootfs},
		{"bad mode", t.TempDir(), Options{Mode: "fix"}, ErrConfig, CodeConfig},
	}
	for _, tt := range tests {
		rep, err := Run(tt.rootfs, tt.o)
		if !errors.Is(err, tt.err) || rep.Result != ResultError || rep.ExitCode != ExitError ||
			len(rep.Errors) != 1 || rep.Errors[0].Code != tt.code {
			t.Errorf("%s: Run = %v, result %s exit %d errors %+v", tt.name, err, rep.Result, rep.ExitCode, rep.Errors)
		}
	}
	rep, err := Run(os.Args[0], Options{Mode: ModeOff})
	if err != nil || rep.Result != ResultSkipped || rep.ExitCode != ExitOK {
		t.Errorf("mode off: %v, %s %d", err, rep.Result, rep.ExitCode)
	}
}
