package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExtractHostile feeds archives that try to write outside the root.
// Each must either fail with an error naming the entry or be contained,
// and the sentinel directory beside the root must stay untouched.
func TestExtractHostile(t *testing.T) {
	type check func(t *testing.T, s sandbox)
	inside := func(p, body string) check {
		return func(t *testing.T, s sandbox) {
			if got := readFile(t, s.path(p)); got != body {
				t.Errorf("%s = %q, want %q", p, got, body)
			}
		}
	}
	for _, c := range []struct {
		name    string
		entries func(s sandbox) []ent
		err     error
		entry   string // the entry the error names
		opts    Options
		after   check
	}{
		{
			name:    "dot-dot name",
			entries: func(sandbox) []ent { return []ent{file("../sentinel/file", "pwned")} },
			err:     ErrUnsafePath, entry: "../sentinel/file",
		},
		{
			name:    "dot-dot inside name",
			entries: func(sandbox) []ent { return []ent{file("a/../../sentinel/x", "pwned")} },
			err:     ErrUnsafePath, entry: "a/../../sentinel/x",
		},
		{
			name:    "absolute name is taken inside",
			entries: func(s sandbox) []ent { return []ent{file(filepath.Join(s.sentinel, "file"), "contained")} },
			after: func(t *testing.T, s sandbox) {
				inside(strings.TrimPrefix(filepath.Join(s.sentinel, "file"), "/"), "contained")(t, s)
			},
		},
		{
			name: "write through absolute symlink",
			entries: func(s sandbox) []ent {
				return []ent{dir(s.sentinel + "/"), symlink("evil", s.sentinel), file("evil/file", "pwned"), file("evil/new", "pwned")}
			},
			after: func(t *testing.T, s sandbox) {
				inside(strings.TrimPrefix(filepath.Join(s.sentinel, "new"), "/"), "pwned")(t, s)
			},
		},
		{
			name: "write through relative symlink",
			entries: func(s sandbox) []ent {
				return []ent{dir(s.sentinel + "/"), symlink("evil", "../../../../../../"+s.sentinel), file("evil/new", "pwned")}
			},
			after: func(t *testing.T, s sandbox) {
				inside(strings.TrimPrefix(filepath.Join(s.sentinel, "new"), "/"), "pwned")(t, s)
			},
		},
		{
			name: "symlink chain",
			entries: func(s sandbox) []ent {
				return []ent{dir("sentinel/"), symlink("a", "b/.."), symlink("b", "../.."), dir("c/"), symlink("c/d", "../a/../sentinel"), file("c/d/file", "pwned")}
			},
			after: inside("sentinel/file", "pwned"),
		},
		{
			name: "overwrite file through symlink",
			entries: func(s sandbox) []ent {
				return []ent{symlink("f", filepath.Join(s.sentinel, "file")), file("f", "replaced")}
			},
			after: inside("f", "replaced"),
		},
		{
			name:    "hard link with dot-dot",
			entries: func(sandbox) []ent { return []ent{hardlink("l", "../sentinel/file")} },
			err:     ErrUnsafePath, entry: "l",
		},
		{
			name: "hard link to absolute host path",
			entries: func(s sandbox) []ent {
				return []ent{hardlink("l", filepath.Join(s.sentinel, "file"))}
			},
			err: ErrLinkTarget, entry: "l",
		},
		{
			name: "hard link through symlink",
			entries: func(s sandbox) []ent {
				return []ent{symlink("s", s.sentinel), hardlink("l", "s/file")}
			},
			err: ErrLinkTarget, entry: "l",
		},
		{
			name: "write through dangling symlink",
			entries: func(s sandbox) []ent {
				return []ent{symlink("evil", s.sentinel), file("evil/new", "pwned")}
			},
			err: ErrNotDir, entry: "evil/new",
		},
		{
			name: "whiteout through symlink",
			entries: func(s sandbox) []ent {
				return []ent{symlink("s", s.sentinel), file("s/.wh.file", ""), file("s/.wh..wh..opq", "")}
			},
		},
		{
			name: "whiteout of dot-dot",
			entries: func(sandbox) []ent {
				return []ent{file(".wh..", "")}
			},
			err: ErrUnsafePath, entry: ".wh..",
		},
		{
			name: "device as unprivileged",
			entries: func(sandbox) []ent {
				return []ent{{name: "dev/sda", typ: tar.TypeBlock, major: 8}}
			},
			opts: Options{Unprivileged: true},
			err:  ErrDevice, entry: "dev/sda",
		},
		{
			name: "parent is a file",
			entries: func(sandbox) []ent {
				return []ent{file("f", "x"), file("f/g", "y")}
			},
			err: ErrNotDir, entry: "f/g",
		},
		{
			name: "hard link to directory",
			entries: func(sandbox) []ent {
				return []ent{dir("d/"), hardlink("l", "d")}
			},
			entry: "l",
		},
		{
			name:    "replace the root",
			entries: func(sandbox) []ent { return []ent{symlink("./", "/")} },
			err:     ErrUnsupported, entry: "./",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSandbox(t)
			err := Extract(s.root, bytes.NewReader(mkTar(t, c.entries(s)...)), c.opts)
			s.check(t)
			switch {
			case c.err == nil && c.entry == "":
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			case err == nil:
				t.Fatalf("no error, want one naming %q", c.entry)
			case c.err != nil && !errors.Is(err, c.err):
				t.Fatalf("err = %v, want %v", err, c.err)
			case !strings.Contains(err.Error(), `"`+c.entry+`"`):
				t.Fatalf("error %q does not name entry %q", err, c.entry)
			}
			if c.after != nil {
				c.after(t, s)
			}
		})
	}
}

// TestExtractHostileOverlay runs the symlink escapes in overlay mode,
// where whiteouts create nodes instead of removing, with the sentinel as
// the lower layer that hard links copy from.
func TestExtractHostileOverlay(t *testing.T) {
	needRoot(t)
	s := newSandbox(t)
	layer := mkTar(t, dir(s.sentinel+"/"), symlink("s", s.sentinel), file("s/.wh.file", ""),
		file("s/.wh..wh..opq", ""), hardlink("copy", "file"), hardlink("s/x", "/file"))
	if err := Extract(s.root, bytes.NewReader(layer), Options{Overlay: true, Lower: []string{s.sentinel}}); err != nil {
		t.Fatal(err)
	}
	s.check(t)
	if _, err := os.Lstat(filepath.Join(s.root, strings.TrimPrefix(s.sentinel, "/"), "file")); err != nil {
		t.Errorf("whiteout not contained in the root: %v", err)
	}
	for _, p := range []string{"copy", strings.TrimPrefix(s.sentinel, "/") + "/x"} {
		if got := readFile(t, s.path(p)); got != sentinelBody {
			t.Errorf("%s = %q, want a copy of the lower file", p, got)
		}
	}
}
