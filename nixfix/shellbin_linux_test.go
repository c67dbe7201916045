package nixfix

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestInstallShell(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "quilt-sh")
	if err := os.WriteFile(src, []byte("#!static shell stand-in\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sh, err := InstallShell(src, filepath.Join(dir, "state-quilt-sh"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(sh.Path); err != nil || st.Mode().Perm() != 0o555 || len(sh.SHA256) != 64 {
		t.Fatalf("installed %+v: %v %v", sh, st, err)
	}
	if err := sh.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	bad := []struct {
		name string
		sh   func() ShellBinary
	}{
		{"wrong digest", func() ShellBinary { return ShellBinary{Path: sh.Path, SHA256: "00"} }},
		{"no digest", func() ShellBinary { return ShellBinary{Path: sh.Path} }},
		{"symlink", func() ShellBinary {
			l := filepath.Join(dir, "link")
			os.Symlink(sh.Path, l)
			return ShellBinary{Path: l, SHA256: sh.SHA256}
		}},
		{"setuid", func() ShellBinary {
			p := filepath.Join(dir, "suid")
			c, _ := InstallShell(src, p)
			os.Chmod(p, 0o555|os.ModeSetuid)
			return c
		}},
		{"directory", func() ShellBinary { return ShellBinary{Path: dir, SHA256: sh.SHA256} }},
	}
	for _, b := range bad {
		if err := b.sh().Verify(); !errors.Is(err, ErrShellBinary) {
			t.Errorf("%s: Verify = %v, want ErrShellBinary", b.name, err)
		}
	}
}

func TestShellMount(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.WriteFile(src, []byte("shell"), 0o755)
	sh, err := InstallShell(src, filepath.Join(dir, "quilt-sh"))
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(dir, "outside")
	tests := []struct {
		name  string
		specs []string
		err   error
	}{
		{"provisioned", []string{"d .quilt/bin", "f .quilt/bin/sh"}, nil},
		{"not provisioned", []string{"d bin"}, ErrNotProvisioned},
		{"quilt is a symlink", []string{"l .quilt " + outside}, ErrUnsafePath},
		{"sh is a symlink", []string{"d .quilt/bin", "l .quilt/bin/sh /bin/busybox"}, ErrUnsafePath},
		{"sh is a directory", []string{"d .quilt/bin/sh"}, ErrUnsafePath},
	}
	mkTree(t, dir, "d outside/bin", "f outside/bin/sh")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "rootfs")
			mkTree(t, root, tt.specs...)
			if err := MountPoint(root); !errors.Is(err, tt.err) {
				t.Errorf("MountPoint = %v, want %v", err, tt.err)
			}
			m, err := ShellMount(root, sh)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ShellMount = %v, want %v", err, tt.err)
			}
			if err == nil && (m.Destination != shellPlaceholder || m.Source != sh.Path || m.Type != "bind" ||
				!slices.Equal(m.Options, []string{"bind", "ro", "nosuid", "nodev"})) {
				t.Errorf("mount = %+v", m)
			}
		})
	}
	if _, err := ShellMount(filepath.Join(dir, "no-such-rootfs"), sh); !errors.Is(err, ErrRootfs) {
		t.Errorf("missing rootfs: %v, want ErrRootfs", err)
	}
	broken := ShellBinary{Path: sh.Path, SHA256: "00"}
	root := filepath.Join(t.TempDir(), "rootfs")
	mkTree(t, root, "d .quilt/bin", "f .quilt/bin/sh")
	if _, err := ShellMount(root, broken); !errors.Is(err, ErrShellBinary) {
		t.Errorf("bad digest: %v, want ErrShellBinary", err)
	}
}
