package libquilt

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/quilt-runtime/quilt/nixfix"
)

func TestNixfixFlagsOverrideAnnotations(t *testing.T) {
	tests := []struct {
		name   string
		annot  map[string]string
		flags  NixfixFlags
		mode   nixfix.Mode
		shell  nixfix.ShellMode
		strict bool
	}{
		{"defaults", nil, NixfixFlags{}, "", "", false},
		{"annotations", map[string]string{nixfix.AnnotationMode: "check", nixfix.AnnotationShell: "never", nixfix.AnnotationPolicy: "strict"},
			NixfixFlags{}, nixfix.ModeCheck, nixfix.ShellNever, true},
		{"flags win", map[string]string{nixfix.AnnotationMode: "check", nixfix.AnnotationShell: "never", nixfix.AnnotationPolicy: "strict"},
			NixfixFlags{Mode: nixfix.ModeOff, Shell: nixfix.ShellAlways, Policy: "strict=false"}, nixfix.ModeOff, nixfix.ShellAlways, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := nixfix.SpecOptions(&specs.Spec{Annotations: tt.annot})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.ApplyAnnotations(tt.flags.annotations()); err != nil {
				t.Fatal(err)
			}
			if o.Mode != tt.mode || o.Shell != tt.shell || o.Policy.Strict != tt.strict {
				t.Errorf("mode %q shell %q strict %v, want %q %q %v", o.Mode, o.Shell, o.Policy.Strict, tt.mode, tt.shell, tt.strict)
			}
		})
	}
}

func TestWithShellMount(t *testing.T) {
	s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/proc", Type: "proc"}}}
	if got := (&nixStep{}).withShellMount(s, "/run/quilt/c1"); got != s {
		t.Errorf("no shell: spec changed")
	}
	got := (&nixStep{shell: "/usr/libexec/quilt-sh"}).withShellMount(s, "/run/quilt/c1")
	if len(s.Mounts) != 1 {
		t.Fatalf("caller's spec changed: %+v", s.Mounts)
	}
	if len(got.Mounts) != 2 {
		t.Fatalf("mounts %+v", got.Mounts)
	}
	m := got.Mounts[1]
	if m.Destination != "/.quilt/bin/sh" || m.Source != "/run/quilt/c1/quilt-sh" || m.Type != "bind" ||
		strings.Join(m.Options, ",") != "bind,ro,nosuid,nodev" {
		t.Errorf("mount %+v", m)
	}
}

func TestShellBinary(t *testing.T) {
	dir := t.TempDir()
	sh := filepath.Join(dir, "quilt-sh")
	if err := os.WriteFile(sh, []byte("#!"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		shell string
		want  string
		err   error
	}{
		{"explicit", sh, sh, nil},
		{"explicit missing", filepath.Join(dir, "nope"), "", ErrNoShell},
		{"explicit directory", dir, "", ErrNoShell},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&Runtime{shell: tt.shell}).shellBinary()
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("shellBinary() = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
	// Without --quilt-sh: the installed path or quilt-sh next to the test
	// binary, which does not exist here unless quilt-sh is installed.
	got, err := (&Runtime{}).shellBinary()
	if _, serr := os.Stat(DefaultShellPath); serr == nil {
		if got != DefaultShellPath {
			t.Errorf("default: %q, %v", got, err)
		}
	} else if !errors.Is(err, ErrNoShell) {
		t.Errorf("default without an installed quilt-sh: %q, %v; want ErrNoShell", got, err)
	}
}

// BenchmarkFixRootfsPlain is the cost of the create-time nixfix step on a
// rootfs that is not Nix-like: a busybox-like /bin of 300 links.
func BenchmarkFixRootfsPlain(b *testing.B) {
	dir := b.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "usr/bin", "usr/sbin", "sbin", "proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), []byte("\x7fELF"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 300 {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", "applet"+strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
	s := &specs.Spec{Root: &specs.Root{Path: rootfs}, Process: &specs.Process{Args: []string{"/bin/applet1"}}}
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		b.Fatal(err)
	}
	r := &Runtime{}
	for b.Loop() {
		st, err := r.fixRootfs("bench", s, dir, NixfixFlags{})
		if err != nil {
			b.Fatal(err)
		}
		if st.report.NixLike || st.shell != "" {
			b.Fatalf("plain rootfs: nixLike %v, shell %q", st.report.NixLike, st.shell)
		}
		if err := st.finish(state); err != nil {
			b.Fatal(err)
		}
	}
}
