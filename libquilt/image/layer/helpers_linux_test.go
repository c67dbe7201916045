package layer

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testTime is the modification time the fixtures give their entries.
var testTime = time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)

// ent describes one tar entry of a fixture.
type ent struct {
	name, link, body string
	typ              byte
	mode             int64
	uid, gid         int
	major, minor     int64
	xattrs           map[string]string
	mtime            time.Time
}

// mkTar builds an uncompressed tar stream from entries.
func mkTar(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
			Uid: e.uid, Gid: e.gid, Devmajor: e.major, Devminor: e.minor,
			ModTime: e.mtime, Format: tar.FormatPAX,
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if hdr.ModTime.IsZero() {
			hdr.ModTime = testTime
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		for k, v := range e.xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := w.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %s: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := w.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func dir(name string) ent          { return ent{name: name, typ: tar.TypeDir} }
func file(name, body string) ent   { return ent{name: name, body: body} }
func symlink(name, to string) ent  { return ent{name: name, link: to, typ: tar.TypeSymlink} }
func hardlink(name, to string) ent { return ent{name: name, link: to, typ: tar.TypeLink} }

// sandbox is a temporary directory holding the root to extract into and,
// beside it, a sentinel directory that no extraction may touch.
type sandbox struct {
	root, sentinel string
}

const sentinelBody = "untouched\n"

func newSandbox(t *testing.T) sandbox {
	t.Helper()
	top := t.TempDir()
	s := sandbox{root: filepath.Join(top, "root"), sentinel: filepath.Join(top, "sentinel")}
	for _, d := range []string{s.root, s.sentinel} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.sentinel, "file"), []byte(sentinelBody), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// check fails the test when anything beside the root changed: the
// sandbox holds exactly root and sentinel, and sentinel exactly its file.
func (s sandbox) check(t testing.TB) {
	t.Helper()
	top, err := os.ReadDir(filepath.Dir(s.root))
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 {
		var names []string
		for _, e := range top {
			names = append(names, e.Name())
		}
		t.Fatalf("sandbox holds %v, want only root and sentinel", names)
	}
	entries, err := os.ReadDir(s.sentinel)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "file" || entries[0].Type() != 0 {
		t.Fatalf("sentinel directory changed: %v", entries)
	}
	b, err := os.ReadFile(filepath.Join(s.sentinel, "file"))
	if err != nil || string(b) != sentinelBody {
		t.Fatalf("sentinel file changed: %q, %v", b, err)
	}
	st, err := os.Stat(s.sentinel)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("sentinel mode changed: %v, %v", st.Mode(), err)
	}
	st, err = os.Stat(filepath.Join(s.sentinel, "file"))
	if err != nil || st.Mode().Perm() != 0o644 || st.ModTime().Equal(testTime) {
		t.Fatalf("sentinel file metadata changed: %v, %v", st.Mode(), err)
	}
}

func (s sandbox) path(name string) string { return filepath.Join(s.root, name) }

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func isRoot() bool { return os.Geteuid() == 0 }
