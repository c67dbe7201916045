package layer

import (
	"archive/tar"
	"bytes"
	"testing"
)

// FuzzExtract extracts arbitrary bytes as a layer, in both modes. Whatever
// it does, it must not panic nor write outside the root.
func FuzzExtract(f *testing.F) {
	f.Add(mkTar(f, dir("a/"), file("a/b", "hello"), symlink("a/c", "/a/b"), hardlink("a/d", "a/b")), false)
	f.Add(mkTar(f, file("x", "1"), file(".wh.x", ""), dir("y/"), file("y/.wh..wh..opq", ""), file("y/z", "2")), true)
	f.Add(mkTar(f, symlink("s", "/"), file("s/../../escape", "x")), false)
	f.Add(mkTar(f, symlink("s", "../../../.."), dir("s/sentinel/"), file("s/sentinel/file", "x"), hardlink("l", "s/sentinel/file")), true)
	f.Add(mkTar(f, ent{name: "p", typ: tar.TypeFifo}, ent{name: "d", typ: tar.TypeChar, major: 1, minor: 3}), false)
	f.Add([]byte("not a tar at all"), false)
	f.Fuzz(func(t *testing.T, data []byte, overlay bool) {
		s := newSandbox(t)
		// A lower layer is given so that overlay-mode hard links are tried
		// there too: it is the sentinel, which must stay untouched.
		o := Options{Overlay: overlay, Limit: NewLimit(1 << 20)}
		if overlay {
			if !isRoot() {
				t.Skip("overlay mode needs root")
			}
			o.Lower = []string{s.sentinel}
		}
		_ = Extract(s.root, bytes.NewReader(data), o)
		s.check(t)
	})
}
