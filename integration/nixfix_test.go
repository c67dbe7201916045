package integration

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nixHash is a deterministic, valid Nix store hash for a seed: sha256
// encoded five bits at a time in Nix's base32 alphabet (no e, o, u, t).
func nixHash(seed string) string {
	const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
	sum := sha256.Sum256([]byte(seed))
	var b strings.Builder
	for i := range 32 {
		bit := i * 5
		v := (uint(sum[bit/8])<<8 | uint(sum[bit/8+1])) >> (11 - bit%8) & 31
		b.WriteByte(alphabet[v])
	}
	return b.String()
}

// nixImage is a layered Nix image with a partial closure, modelled on
// SPEC.md's failure catalogue: busybox lives in the store, /bin holds
// absolute links into it, but
//   - there is no /bin/sh (FM-1),
//   - /usr/bin/env points into a coreutils store path that is not in the
//     image and has no same-name candidate (FM-2, FM-3 unresolvable),
//   - /bin/ls points into a store path of another build of the same
//     busybox (FM-3, substitutable by a store alias).
type nixImage struct {
	busybox string // /nix/store/<h>-busybox-1.36.1, present
	missing string // /nix/store/<h'>-busybox-1.36.1, absent
	env     string // /nix/store/<h''>-coreutils-9.5, absent
}

func newNixImage() nixImage {
	const bb = "busybox-1.36.1"
	return nixImage{
		busybox: "/nix/store/" + nixHash("present") + "-" + bb,
		missing: "/nix/store/" + nixHash("other-build") + "-" + bb,
		env:     "/nix/store/" + nixHash("coreutils") + "-coreutils-9.5",
	}
}

// build replaces the bundle's busybox rootfs with the Nix image. The
// mount points and /etc of makeRootfs stay.
func (n nixImage) build(t *testing.T, rootfs string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(rootfs, "bin")); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(rootfs, n.busybox, "bin")
	for _, d := range []string{store, filepath.Join(rootfs, "bin"), filepath.Join(rootfs, "usr/bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyFile(busyboxBin, filepath.Join(store, "busybox")); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"bin/busybox":  n.busybox + "/bin/busybox",
		"bin/echo":     n.busybox + "/bin/busybox",
		"bin/cat":      n.busybox + "/bin/busybox",
		"bin/ls":       n.missing + "/bin/busybox",
		"usr/bin/env":  n.env + "/bin/env",
		"bin/readlink": n.busybox + "/bin/busybox",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	// Store objects are read-only in an unpacked Nix image.
	for _, d := range []string{store, filepath.Dir(store)} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
}

// treeManifest lists every entry under dir as "path type mode target",
// sorted, with lstat only; skip names entries to leave out.
func treeManifest(t *testing.T, dir string, skip ...string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if slices.Contains(skip, rel) {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		target := ""
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ = os.Readlink(p)
		} else if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			target = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
		}
		lines = append(lines, fmt.Sprintf("%s %o %s", rel, st.Mode, target))
		return nil
	})
	if err != nil {
		t.Fatalf("manifest %s: %v", dir, err)
	}
	return strings.Join(lines, "\n")
}

// nixReport is the part of a quilt.nixfix/v1 report the tests look at.
type nixReport struct {
	Schema   string `json:"schema"`
	NixLike  bool   `json:"nixLike"`
	Result   string `json:"result"`
	ExitCode int    `json:"exitCode"`
	Findings []struct {
		Kind       string   `json:"kind"`
		Path       string   `json:"path"`
		Resolution string   `json:"resolution"`
		Reason     string   `json:"reason"`
		Candidates []string `json:"candidates"`
	} `json:"findings"`
	Actions []struct {
		Op     string `json:"op"`
		Path   string `json:"path"`
		Target string `json:"target"`
		Reason string `json:"reason"`
	} `json:"actions"`
}

func readReport(t *testing.T, path string) nixReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var r nixReport
	if err := json.Unmarshal(data, &r); err != nil || r.Schema != "quilt.nixfix/v1" {
		t.Fatalf("report %s: %v\n%s", path, err, data)
	}
	return r
}

// finding returns "resolution reason" of the finding (kind, path), or "".
func (r nixReport) finding(kind, path string) string {
	for _, f := range r.Findings {
		if f.Kind == kind && f.Path == path {
			return strings.TrimSpace(f.Resolution + " " + f.Reason)
		}
	}
	return ""
}

func (r nixReport) actionSet() []string {
	var s []string
	for _, a := range r.Actions {
		s = append(s, strings.TrimSpace(a.Op+" "+a.Path+" "+a.Target))
	}
	slices.Sort(s)
	return s
}

// nixScript works only when /bin/sh exists (provisioned quilt-sh), /bin/ls
// resolves (store alias) and /usr/bin/env runs (quilt-sh's env).
const nixScript = `echo "sh=$0"; /bin/ls /nix/store | /bin/cat; /usr/bin/env NIXFIX=ok /bin/busybox sh -c 'echo env:$NIXFIX'`

func TestNixfixCommand(t *testing.T) {
	quiltOnly(t, "has no nixfix")
	h := newHarness(t)
	img := newNixImage()
	b := h.bundle(shell(nixScript))
	rootfs := filepath.Join(b.Dir, "rootfs")
	img.build(t, rootfs)
	outside := treeManifest(t, b.Dir, "rootfs")
	before := treeManifest(t, rootfs)

	// --check: finds, writes nothing, exits 3 for the warnings.
	check := filepath.Join(h.dir, "check.json")
	r := h.exec("nixfix", "--check", "--bundle", b.Dir, "--report", check)
	if r.code != 3 || !strings.Contains(r.stderr, "nixfix: summary:") {
		t.Fatalf("check: want exit 3 and a summary: %v", r)
	}
	rep := readReport(t, check)
	if !rep.NixLike || rep.ExitCode != 3 || len(rep.Actions) != 0 {
		t.Errorf("check report: nixLike %v exit %d actions %v", rep.NixLike, rep.ExitCode, rep.Actions)
	}
	if got := rep.finding("dangling-store-link", "/bin/ls"); got != "unresolved" {
		t.Errorf("check: /bin/ls finding %q", got)
	}
	if got := treeManifest(t, rootfs); got != before {
		t.Fatalf("check changed the rootfs")
	}

	// --repair: a store alias for the other busybox build, the quilt-sh
	// mount point, /bin/sh and /usr/bin/env linked to it.
	repair := filepath.Join(h.dir, "repair.json")
	r = h.exec("nixfix", "--repair", "--bundle", b.Dir, "--report", repair)
	if r.code != 0 || !strings.Contains(r.stderr, "repaired:") {
		t.Fatalf("repair: %v", r)
	}
	rep = readReport(t, repair)
	want := []string{
		"mkdir /.quilt", "mkdir /.quilt/bin", "placeholder /.quilt/bin/sh", "symlink /.quilt/bin/env sh",
		"symlink /bin/sh ../.quilt/bin/sh",
		"replace-symlink /usr/bin/env ../../.quilt/bin/env",
		"symlink " + img.missing + " " + filepath.Base(img.busybox),
	}
	slices.Sort(want)
	if got := rep.actionSet(); !slices.Equal(got, want) {
		t.Errorf("repair actions:\n got %q\nwant %q", got, want)
	}
	if rep.Result != "ok" || rep.ExitCode != 0 {
		t.Errorf("repair: result %s exit %d, want ok 0", rep.Result, rep.ExitCode)
	}
	if got := rep.finding("dangling-store-link", "/usr/bin/env"); got != "superseded no-candidate" {
		t.Errorf("repair: /usr/bin/env finding %q, want superseded no-candidate", got)
	}
	if got := rep.finding("dangling-store-link", "/bin/ls"); got != "repaired" {
		t.Errorf("repair: /bin/ls finding %q", got)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, ".quilt/nixfix.json")); err != nil {
		t.Errorf("in-root report: %v", err)
	}

	// A second repair is a no-op.
	repaired := treeManifest(t, rootfs)
	again := filepath.Join(h.dir, "again.json")
	r = h.exec("nixfix", "--repair", "--bundle", b.Dir, "--report", again)
	if rep := readReport(t, again); r.code != 0 || len(rep.Actions) != 0 {
		t.Errorf("second repair: exit %d, actions %v", r.code, rep.Actions)
	}
	if treeManifest(t, rootfs) != repaired {
		t.Errorf("second repair changed the rootfs")
	}

	// The repaired image runs, with quilt-sh as /bin/sh.
	r = h.runFg(b, h.id())
	if r.code != 0 || !strings.Contains(r.stdout, "sh=/bin/sh") || !strings.Contains(r.stdout, filepath.Base(img.missing)) ||
		!strings.Contains(r.stdout, "env:ok") {
		t.Errorf("run after repair: %v", r)
	}

	// --undo restores the image as it was.
	r = h.exec("nixfix", "--undo", rootfs)
	if r.code != 0 {
		t.Fatalf("undo: %v", r)
	}
	if got := treeManifest(t, rootfs); got != before {
		t.Errorf("undo: rootfs differs from the original\n got %s\nwant %s", got, before)
	}
	if got := treeManifest(t, b.Dir, "rootfs"); got != outside {
		t.Errorf("the bundle outside the rootfs changed")
	}

	// Usage errors.
	for _, args := range [][]string{{"nixfix", rootfs}, {"nixfix", "--check", "--repair", rootfs}, {"nixfix", "--check"}} {
		if r := h.exec(args...); r.code != 1 {
			t.Errorf("%v: want exit 1: %v", args, r)
		}
	}
}

func TestNixfixCreate(t *testing.T) {
	quiltOnly(t, "has no nixfix")
	h := newHarness(t)
	img := newNixImage()
	b := h.bundle(shell(nixScript))
	rootfs := filepath.Join(b.Dir, "rootfs")
	img.build(t, rootfs)
	outside := treeManifest(t, b.Dir, "rootfs")
	before := treeManifest(t, rootfs)

	// Without the step the image cannot run its shell.
	if r := h.runFg(b, h.id(), "--nixfix", "off", "--shell", "never"); r.code == 0 {
		t.Fatalf("the image runs without nixfix: the test proves nothing: %v", r)
	}
	if treeManifest(t, rootfs) != before {
		t.Fatalf("--nixfix off changed the rootfs")
	}

	// create repairs the rootfs, keeps the report and a private, read-only
	// quilt-sh copy in the state directory, and mounts it.
	id := h.id()
	if r := h.create(b, id); r.code != 0 || !strings.Contains(r.stderr, "nixfix: repaired") {
		t.Fatalf("create: %v", r)
	}
	state := filepath.Join(h.root, id)
	if rep := readReport(t, filepath.Join(state, "nixfix.json")); len(rep.Actions) != 7 || rep.Result != "ok" {
		t.Errorf("state report: result %s, %d actions", rep.Result, len(rep.Actions))
	}
	fi, err := os.Stat(filepath.Join(state, "quilt-sh"))
	if err != nil || fi.Mode().Perm() != 0o555 || fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
		t.Errorf("state quilt-sh: %v %v", fi, err)
	}
	installed, _ := os.ReadFile(filepath.Join(filepath.Dir(runtimeBin), "quilt-sh"))
	copied, _ := os.ReadFile(filepath.Join(state, "quilt-sh"))
	if len(installed) == 0 || string(installed) != string(copied) {
		t.Errorf("state quilt-sh is not a copy of the installed quilt-sh")
	}
	h.mustExec("delete", "--force", id)
	repaired := treeManifest(t, rootfs)

	// run works, and a second run changes nothing.
	for i := range 2 {
		r := h.runFg(b, h.id())
		if r.code != 0 || !strings.Contains(r.stdout, "sh=/bin/sh") || !strings.Contains(r.stdout, "env:ok") {
			t.Fatalf("run %d: %v", i, r)
		}
		if strings.Contains(r.stderr, "repaired") {
			t.Errorf("run %d repaired again: %s", i, r.stderr)
		}
		if treeManifest(t, rootfs) != repaired {
			t.Errorf("run %d changed the rootfs", i)
		}
	}
	if got := treeManifest(t, b.Dir, "rootfs"); got != outside {
		t.Errorf("the bundle outside the rootfs changed:\n%s\nwant\n%s", got, outside)
	}
	// The container sees quilt-sh read-only at /.quilt/bin/sh.
	b.Spec.Process.Args = shell(`grep -q " /.quilt/bin/sh ro,nosuid,nodev" /proc/self/mountinfo && echo mounted-ro; echo x > /.quilt/bin/sh || echo refused`)
	b.save(t)
	if r := h.runFg(b, h.id()); !strings.Contains(r.stdout, "mounted-ro") || !strings.Contains(r.stdout, "refused") {
		t.Errorf("shell mount: %v", r)
	}
}

func TestNixfixCreateStrict(t *testing.T) {
	quiltOnly(t, "has no nixfix")
	h := newHarness(t)
	b := h.bundle(shell("true"), func(s *specs.Spec) {
		s.Annotations["quilt.nixfix.policy"] = "strict"
	})
	rootfs := filepath.Join(b.Dir, "rootfs")
	newNixImage().build(t, rootfs)
	// A link into a store path that is not in the image and has no
	// same-name candidate: nothing can repair it.
	hello := "/nix/store/" + nixHash("hello") + "-hello-2.12.1/bin/hello"
	if err := os.Symlink(hello, filepath.Join(rootfs, "bin/hello")); err != nil {
		t.Fatal(err)
	}
	before := treeManifest(t, rootfs)
	id := h.id()
	r := h.create(b, id)
	wantError(t, r, "nixfix", "strict", "unresolved")
	if _, err := os.Lstat(filepath.Join(h.root, id)); !os.IsNotExist(err) {
		t.Errorf("state directory left behind: %v", err)
	}
	if got := treeManifest(t, rootfs); got != before {
		t.Errorf("failed create left the repair behind:\n got %s\nwant %s", got, before)
	}
	// The flag overrides the annotation.
	if r := h.runFg(b, h.id(), "--nixfix-policy", "strict=false"); r.code != 0 {
		t.Errorf("run with strict=false: %v", r)
	}
}

// TestNixfixPlainImage: a busybox image is not Nix-like and is left alone.
func TestNixfixPlainImage(t *testing.T) {
	quiltOnly(t, "has no nixfix")
	h := newHarness(t)
	b := h.bundle(shell("test ! -e /.quilt && echo plain"))
	rootfs := filepath.Join(b.Dir, "rootfs")
	before := treeManifest(t, rootfs)
	if r := h.runFg(b, h.id()); r.code != 0 || r.stdout != "plain\n" || r.stderr != "" {
		t.Errorf("plain run: %v", r)
	}
	if treeManifest(t, rootfs) != before {
		t.Errorf("nixfix changed a plain rootfs")
	}
	if r := h.exec("nixfix", "--check", rootfs); r.code != 0 || !strings.Contains(r.stderr, "result=skipped") {
		t.Errorf("check of a plain rootfs: %v", r)
	}
}

// TestNixfixDiagnosis: a program that exists in the rootfs but cannot be
// executed (a link into a store path missing from the image) fails create
// with the reason, not a bare "no such file or directory".
func TestNixfixDiagnosis(t *testing.T) {
	quiltOnly(t, "has no nixfix")
	h := newHarness(t)
	img := newNixImage()
	b := h.bundle([]string{"/bin/ls"})
	img.build(t, filepath.Join(b.Dir, "rootfs"))
	id := h.id()
	r := h.create(b, id, "--nixfix", "off")
	wantError(t, r, "/bin/ls", "missing in the container", "quilt nixfix --check")
	if !strings.Contains(r.stderr, img.missing) {
		t.Fatalf("the diagnosis does not name the missing store path %s: %q", img.missing, r.stderr)
	}
	// A program that does not exist at all keeps the plain error.
	b2 := h.bundle([]string{"/bin/nosuchprogram"})
	r = h.create(b2, h.id())
	if r.code == 0 || strings.Contains(r.stderr, "quilt nixfix") {
		t.Fatalf("create of a missing program: %v", r)
	}
}
