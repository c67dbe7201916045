package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func extract(t *testing.T, root string, o Options, layers ...[]byte) error {
	t.Helper()
	for _, l := range layers {
		if err := Extract(root, bytes.NewReader(l), o); err != nil {
			return err
		}
	}
	return nil
}

func TestExtractTypes(t *testing.T) {
	s := newSandbox(t)
	dirTime := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	fileTime := time.Date(2002, 2, 2, 2, 2, 2, 0, time.UTC)
	layer := mkTar(t,
		ent{name: "./", typ: tar.TypeDir, mode: 0o755},
		ent{name: "bin/", typ: tar.TypeDir, mode: 0o711, mtime: dirTime},
		ent{name: "bin/tool", body: "#!/bin/sh\n", mode: 0o4755, mtime: fileTime},
		symlink("bin/sh", "/bin/tool"),
		hardlink("bin/tool2", "bin/tool"),
		ent{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600},
		ent{name: "etc/conf", body: "x", xattrs: map[string]string{"user.quilt": "yes"}},
	)
	if err := extract(t, s.root, Options{Unprivileged: true}, layer); err != nil {
		t.Fatal(err)
	}
	s.check(t)
	if got := readFile(t, s.path("bin/tool")); got != "#!/bin/sh\n" {
		t.Errorf("bin/tool = %q", got)
	}
	st, err := os.Stat(s.path("bin/tool"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSetuid == 0 || st.Mode().Perm() != 0o755 {
		t.Errorf("bin/tool mode = %v, want setuid 0755", st.Mode())
	}
	if !st.ModTime().Equal(fileTime) {
		t.Errorf("bin/tool mtime = %v, want %v", st.ModTime(), fileTime)
	}
	if to, err := os.Readlink(s.path("bin/sh")); err != nil || to != "/bin/tool" {
		t.Errorf("bin/sh -> %q, %v", to, err)
	}
	st2, err := os.Stat(s.path("bin/tool2"))
	if err != nil || !os.SameFile(st, st2) {
		t.Errorf("bin/tool2 is not a hard link of bin/tool: %v", err)
	}
	if st, err := os.Lstat(s.path("run/fifo")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("run/fifo: %v, %v", st, err)
	}
	// Directory times are set after their contents are written.
	if st, err := os.Stat(s.path("bin")); err != nil || !st.ModTime().Equal(dirTime) {
		t.Errorf("bin mtime = %v, want %v (%v)", st.ModTime(), dirTime, err)
	}
	// Unprivileged keeps the owner's rwx bits on directories.
	if st, _ := os.Stat(s.path("bin")); st.Mode().Perm() != 0o711|0o700 {
		t.Errorf("bin mode = %v", st.Mode())
	}
	buf := make([]byte, 16)
	if n, err := unix.Lgetxattr(s.path("etc/conf"), "user.quilt", buf); err != nil || string(buf[:n]) != "yes" {
		t.Errorf("xattr user.quilt = %q, %v", buf[:n], err)
	}
}

func TestExtractAsRoot(t *testing.T) {
	needRoot(t)
	s := newSandbox(t)
	layer := mkTar(t,
		ent{name: "dev/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3},
		ent{name: "dev/loop9", typ: tar.TypeBlock, mode: 0o660, major: 7, minor: 9, gid: 6},
		ent{name: "home/", typ: tar.TypeDir, mode: 0o700, uid: 1000, gid: 1000},
		ent{name: "home/f", body: "x", uid: 1000, gid: 100, mode: 0o2755},
		ent{name: "home/l", link: "f", typ: tar.TypeSymlink, uid: 1000, gid: 1000},
		ent{name: "ro/", typ: tar.TypeDir, mode: 0o555},
		ent{name: "ro/f", body: "y", mode: 0o444},
		ent{name: "ro/g", xattrs: map[string]string{"trusted.overlay.opaque": "y", "trusted.quilt": "1"}},
	)
	if err := extract(t, s.root, Options{}, layer); err != nil {
		t.Fatal(err)
	}
	s.check(t)
	var st unix.Stat_t
	if err := unix.Lstat(s.path("dev/null"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o777 != 0o666 {
		t.Errorf("dev/null: %+v, %v", st, err)
	}
	if err := unix.Lstat(s.path("dev/loop9"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || st.Gid != 6 {
		t.Errorf("dev/loop9: %+v, %v", st, err)
	}
	for _, c := range []struct {
		name     string
		uid, gid uint32
		mode     uint32
	}{
		{"home", 1000, 1000, 0o700},
		{"home/f", 1000, 100, 0o2755},
		{"home/l", 1000, 1000, 0o777},
		{"ro", 0, 0, 0o555},
	} {
		if err := unix.Lstat(s.path(c.name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != c.uid || st.Gid != c.gid || st.Mode&0o7777 != c.mode {
			t.Errorf("%s: uid %d gid %d mode %o, want %d %d %o", c.name, st.Uid, st.Gid, st.Mode&0o7777, c.uid, c.gid, c.mode)
		}
	}
	buf := make([]byte, 8)
	if _, err := unix.Lgetxattr(s.path("ro/g"), "trusted.overlay.opaque", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("an image set trusted.overlay.opaque: %v", err)
	}
	if n, err := unix.Lgetxattr(s.path("ro/g"), "trusted.quilt", buf); err != nil || string(buf[:n]) != "1" {
		t.Errorf("trusted.quilt = %q, %v", buf[:n], err)
	}
}

func TestExtractWhiteouts(t *testing.T) {
	lower := mkTar(t,
		dir("a/"), file("a/x", "x"), file("a/y", "y"), dir("a/sub/"), file("a/sub/old", "old"),
		dir("b/"), file("b/z", "z"), file("b/keep", "keep"),
		file("c", "c"), dir("d/"), file("d/deep", "d"),
	)
	upper := mkTar(t,
		file(".wh.c", ""),
		dir("a/"), dir("a/sub/"), file("a/sub/new", "new"), file("a/.wh..wh..opq", ""), file("a/n", "n"),
		file("b/.wh.z", ""),
		file(".wh.d", ""),
		file("e", "e"), file(".wh.e", ""), // a layer's own file survives its whiteout
		file("gone/.wh.nothing", ""),
	)
	s := newSandbox(t)
	if err := extract(t, s.root, Options{}, lower, upper); err != nil {
		t.Fatal(err)
	}
	s.check(t)
	for _, p := range []string{"c", "a/x", "a/y", "a/sub/old", "b/z", "d", "gone"} {
		if exists(s.path(p)) {
			t.Errorf("%s survived its whiteout", p)
		}
	}
	for _, p := range []string{"a/sub/new", "a/n", "b/keep", "e"} {
		if !exists(s.path(p)) {
			t.Errorf("%s is missing", p)
		}
	}
}

func TestExtractOverlay(t *testing.T) {
	needRoot(t)
	top := t.TempDir()
	low, up := filepath.Join(top, "low"), filepath.Join(top, "up")
	for _, d := range []string{low, up} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lower := mkTar(t, ent{name: "tmp/", typ: tar.TypeDir, mode: 0o1777}, file("tmp/big", "content"), file("etc/x", "x"))
	if err := Extract(low, bytes.NewReader(lower), Options{Overlay: true}); err != nil {
		t.Fatal(err)
	}
	upper := mkTar(t,
		file("etc/.wh.x", ""),
		file("tmp/.wh..wh..opq", ""),
		hardlink("tmp/link", "tmp/big"),
		file("f", "f"), file(".wh.f", ""),
	)
	if err := Extract(up, bytes.NewReader(upper), Options{Overlay: true, Lower: []string{low}}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(up, "etc/x"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/x is not an overlay whiteout: %+v, %v", st, err)
	}
	buf := make([]byte, 4)
	if n, err := unix.Lgetxattr(filepath.Join(up, "tmp"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("tmp is not opaque: %q, %v", buf[:n], err)
	}
	if got := readFile(t, filepath.Join(up, "tmp/link")); got != "content" {
		t.Errorf("hard link across layers = %q, want a copy of the lower file", got)
	}
	// tmp is created implicitly: it takes its mode from the lower layer.
	if err := unix.Lstat(filepath.Join(up, "tmp"), &st); err != nil || st.Mode&0o7777 != 0o1777 {
		t.Errorf("implicit tmp mode = %o, want 1777 (%v)", st.Mode&0o7777, err)
	}
	if got := readFile(t, filepath.Join(up, "f")); got != "f" {
		t.Errorf("f = %q", got)
	}
}

func TestExtractReplace(t *testing.T) {
	s := newSandbox(t)
	lower := mkTar(t, dir("x/"), file("x/inner", "1"), file("y", "file"), symlink("z", "/etc"))
	upper := mkTar(t, file("x", "now a file"), dir("y/"), file("y/in", "2"), file("z", "file"))
	if err := extract(t, s.root, Options{}, lower, upper); err != nil {
		t.Fatal(err)
	}
	s.check(t)
	if got := readFile(t, s.path("x")); got != "now a file" {
		t.Errorf("x = %q", got)
	}
	if got := readFile(t, s.path("y/in")); got != "2" {
		t.Errorf("y/in = %q", got)
	}
	if st, err := os.Lstat(s.path("z")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("z not replaced by a file: %v", err)
	}
}

func TestExtractLimit(t *testing.T) {
	s := newSandbox(t)
	layer := mkTar(t, file("a", string(make([]byte, 4096))), file("b", string(make([]byte, 4096))))
	err := Extract(s.root, bytes.NewReader(layer), Options{Limit: NewLimit(6000)})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if exists(s.path("b")) {
		t.Error("b written past the limit")
	}
	if err := Extract(newSandbox(t).root, bytes.NewReader(layer), Options{Limit: NewLimit(10000)}); err != nil {
		t.Errorf("within the limit: %v", err)
	}
}

func TestExtractCorrupt(t *testing.T) {
	good := mkTar(t, file("a", "hello world, this is some content"), file("b", "more"))
	bad := bytes.Clone(good)
	bad[148] ^= 0xff // header checksum
	for name, data := range map[string][]byte{
		"truncated header": good[:300],
		"truncated body":   good[:520],
		"bad checksum":     bad,
		"not a tar":        bytes.Repeat([]byte("garbage!"), 200),
	} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			err := Extract(s.root, bytes.NewReader(data), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			s.check(t)
		})
	}
	// The reader is consumed up to the end of the archive only.
	r := bytes.NewReader(append(bytes.Clone(good), "trailer"...))
	if err := Extract(newSandbox(t).root, r, Options{}); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if len(rest) == 0 || !bytes.HasSuffix(rest, []byte("trailer")) {
		t.Errorf("rest = %q", rest)
	}
}

func TestCleanName(t *testing.T) {
	for _, c := range []struct {
		in, out string
		err     error
	}{
		{"a/b", "a/b", nil},
		{"./a/./b/", "a/b", nil},
		{"/etc/passwd", "etc/passwd", nil},
		{"//x", "x", nil},
		{"./", "", nil},
		{"/", "", nil},
		{"a/../b", "b", nil},
		{"..", "", ErrUnsafePath},
		{"../x", "", ErrUnsafePath},
		{"a/../../x", "", ErrUnsafePath},
		{"a\x00b", "", ErrUnsafePath},
	} {
		got, err := cleanName(c.in)
		if got != c.out || !errors.Is(err, c.err) {
			t.Errorf("cleanName(%q) = %q, %v; want %q, %v", c.in, got, err, c.out, c.err)
		}
	}
}

// Fchmodat's path follows symlinks, so TestNodeModeNoFollow makes sure a
// node whose name is replaced by nothing else gets its mode: a guard for
// the assumption setMetaAt documents.
func TestNodeModeNoFollow(t *testing.T) {
	s := newSandbox(t)
	layer := mkTar(t, symlink("p", filepath.Join(s.sentinel, "file")), ent{name: "p", typ: tar.TypeFifo, mode: 0o600})
	if err := Extract(s.root, bytes.NewReader(layer), Options{}); err != nil {
		t.Fatal(err)
	}
	s.check(t)
	var st syscall.Stat_t
	if err := syscall.Lstat(s.path("p"), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		t.Errorf("p is not a fifo: %v", err)
	}
}
