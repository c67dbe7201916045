package nixfix

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// manifest lists every entry under dir as "path type mode link-target",
// one a line, sorted, like `find -printf '/%P\t%y\t%#m\t%l'` (the format of
// make-fixtures.sh); the in-root report is left out. It uses lstat only.
func manifest(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." || "/"+rel == inRootReport {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		typ, target := "f", ""
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			typ = "d"
		case syscall.S_IFLNK:
			typ = "l"
			target, _ = os.Readlink(p)
		case syscall.S_IFIFO:
			typ = "p"
		case syscall.S_IFSOCK:
			typ = "s"
		case syscall.S_IFCHR:
			typ = "c"
		case syscall.S_IFBLK:
			typ = "b"
		}
		lines = append(lines, fmt.Sprintf("/%s\t%s\t%#o\t%s", rel, typ, st.Mode&0o7777, target))
		return nil
	})
	if err != nil {
		t.Fatalf("manifest %s: %v", dir, err)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// contentDigest is manifest plus the bytes of every regular file, for
// trees that must stay byte-identical (the sentinel outside the rootfs).
func contentDigest(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(manifest(t, dir))
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s %q\n", p, data)
		}
		return nil
	})
	return b.String()
}

// copyTree copies src to dst keeping types, modes and link targets.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	type dirMode struct {
		p    string
		mode os.FileMode
	}
	var dirs []dirMode
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, dirMode{out, info.Mode()})
			return os.MkdirAll(out, 0o700)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case d.Type().IsRegular():
			return copyFile(p, out, info.Mode())
		}
		return fmt.Errorf("%s: unexpected type %v", p, d.Type())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].p, dirs[i].mode); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// tempDir is t.TempDir that can also be removed when the test made parts
// of it read-only (store objects are 0555, as in a Nix image).
func tempDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	t.Cleanup(func() { makeWritable(d) })
	return d
}

func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}
