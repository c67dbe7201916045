package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runcBin is Debian's runc, which runs `quilt nixfix --hook` as a hook.
const runcBin = "/usr/sbin/runc"

// nixHookBundle makes a bundle with the Nix image of newNixImage whose
// createRuntime hook is `quilt nixfix --hook`, with the quilt-sh the tests
// built, and returns it with its rootfs.
func nixHookBundle(t *testing.T, h *harness, args []string, edit ...func(*specs.Spec)) (*bundle, string) {
	t.Helper()
	if isRunc {
		t.Skip("needs the quilt binary the tests build (QUILT_TEST_RUNTIME is runc)")
	}
	if _, err := os.Stat(runcBin); err != nil {
		t.Skipf("runc: %v", err)
	}
	b := h.bundle(args, edit...)
	rootfs := filepath.Join(b.Dir, "rootfs")
	newNixImage().build(t, rootfs)
	return b, rootfs
}

// withNixHook adds the hook to b's config.
func withNixHook(t *testing.T, b *bundle) {
	t.Helper()
	shellBin := filepath.Join(filepath.Dir(runtimeBin), "quilt-sh")
	b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
		Path: runtimeBin,
		Args: []string{"quilt", "--quilt-sh", shellBin, "nixfix", "--hook"},
	}}}
	b.save(t)
}

// runcRun runs the bundle with runc in the foreground under a private
// --root, and force-deletes what is left of the container.
func runcRun(t *testing.T, h *harness, b *bundle) result {
	t.Helper()
	root := filepath.Join(h.dir, "runc")
	id := h.id()
	t.Cleanup(func() { _ = exec.Command(runcBin, "--root", root, "delete", "--force", id).Run() })
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runcBin, "--root", root, "run", "--bundle", b.Dir, id)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{cmdline: strings.Join(cmd.Args, " "), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		r.code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
	}
	return r
}

func TestNixfixHookRunc(t *testing.T) {
	h := newHarness(t)
	b, rootfs := nixHookBundle(t, h, shell("echo ok; "+nixScript))
	before := treeManifest(t, rootfs)

	// Without the hook runc cannot start the image's shell.
	if r := runcRun(t, h, b); r.code == 0 || strings.Contains(r.stdout, "ok") {
		t.Fatalf("the image runs without the hook: the test proves nothing: %v", r)
	}
	if treeManifest(t, rootfs) != before {
		t.Fatal("runc without the hook changed the rootfs")
	}

	withNixHook(t, b)
	r := runcRun(t, h, b)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok\n") || !strings.Contains(r.stdout, "sh=/bin/sh") || !strings.Contains(r.stdout, "env:ok") {
		t.Fatalf("runc run with the hook: %v", r)
	}
	// The full report is in the bundle, the in-root one names the copy.
	rep := readReport(t, filepath.Join(b.Dir, "nixfix.json"))
	if rep.Result != "ok" || !slicesContain(rep.actionSet(), "copy /.quilt/bin/sh") {
		t.Errorf("bundle report: result %s, actions %v", rep.Result, rep.actionSet())
	}
	if in := readReport(t, filepath.Join(rootfs, ".quilt/nixfix.json")); len(in.Actions) != len(rep.Actions) {
		t.Errorf("in-root report: %d actions, bundle report %d", len(in.Actions), len(rep.Actions))
	}
	// /.quilt/bin/sh is a plain copy of quilt-sh, mode 0555.
	fi, err := os.Lstat(filepath.Join(rootfs, ".quilt/bin/sh"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o555 {
		t.Errorf("/.quilt/bin/sh: %v %v", fi, err)
	}
	want, _ := os.ReadFile(filepath.Join(filepath.Dir(runtimeBin), "quilt-sh"))
	got, _ := os.ReadFile(filepath.Join(rootfs, ".quilt/bin/sh"))
	if len(want) == 0 || !bytes.Equal(got, want) {
		t.Errorf("/.quilt/bin/sh is not a copy of quilt-sh (%d bytes, want %d)", len(got), len(want))
	}

	// A second run repairs nothing and changes nothing.
	repaired := treeManifest(t, rootfs)
	if r := runcRun(t, h, b); r.code != 0 || !strings.HasPrefix(r.stdout, "ok\n") {
		t.Fatalf("second run: %v", r)
	}
	if rep := readReport(t, filepath.Join(b.Dir, "nixfix.json")); len(rep.Actions) != 0 {
		t.Errorf("second run: %d actions, want 0", len(rep.Actions))
	}
	if treeManifest(t, rootfs) != repaired {
		t.Error("second run changed the rootfs")
	}
}

// TestNixfixHookStrict: with the strict policy and a link nothing can
// repair, the hook fails, so runc fails the create, and the repair is
// undone.
func TestNixfixHookStrict(t *testing.T) {
	h := newHarness(t)
	b, rootfs := nixHookBundle(t, h, shell("echo ok"), func(s *specs.Spec) {
		s.Annotations["quilt.nixfix.policy"] = "strict"
	})
	hello := "/nix/store/" + nixHash("hello") + "-hello-2.12.1/bin/hello"
	if err := os.Symlink(hello, filepath.Join(rootfs, "bin/hello")); err != nil {
		t.Fatal(err)
	}
	withNixHook(t, b)
	before := treeManifest(t, rootfs)
	r := runcRun(t, h, b)
	if r.code == 0 || strings.Contains(r.stdout, "ok") || !strings.Contains(r.stderr, "exit status 2") {
		t.Fatalf("strict hook did not fail the create: %v", r)
	}
	if rep := readReport(t, filepath.Join(b.Dir, "nixfix.json")); rep.ExitCode != 2 {
		t.Errorf("bundle report: exit code %d, want 2", rep.ExitCode)
	}
	if got := treeManifest(t, rootfs); got != before {
		t.Errorf("failed hook left the repair behind:\n got %s\nwant %s", got, before)
	}
}

func slicesContain(s []string, prefix string) bool {
	for _, v := range s {
		if strings.HasPrefix(v, prefix) {
			return true
		}
	}
	return false
}
