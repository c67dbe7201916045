package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzUnpack unpacks arbitrary files as images, in copy mode with a small
// size limit: format detection, the archive readers and the image
// metadata parsers see untrusted input. Whatever happens, nothing may be
// written beside the bundle, and a failure leaves no bundle.
func FuzzUnpack(f *testing.F) {
	dir := f.TempDir()
	small := layerTar(f, tdir("etc/"), treg("etc/passwd", "app:x:1:1::/:/bin/sh\n"), tsym("bin", "/usr/bin"))
	img := mkImage(f, v1.Config{User: "app", Cmd: []string{"x"}}, small)
	layout := ociDir(f, filepath.Join(dir, "layout"), map[string]v1.Image{"": img})
	f.Add(readFile(f, tarDir(f, layout, filepath.Join(dir, "oci.tar"))))
	f.Add(readFile(f, dockerSave(f, filepath.Join(dir, "docker.tar"), map[string]v1.Image{"a:b": img})))
	f.Add(compressed(f, "gz", small))
	f.Add(compressed(f, "zst", small))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		top := t.TempDir()
		p := filepath.Join(top, "image")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		bundle := filepath.Join(top, "bundle")
		_, err := Unpack(context.Background(), Options{Image: p, Bundle: bundle, Copy: true, MaxSize: 8 << 20})
		got := listDir(t, top)
		if err != nil && got != "image" {
			t.Fatalf("failed unpack (%v) left %q", err, got)
		}
		if err == nil && got != "bundle image" {
			t.Fatalf("unpack left %q", got)
		}
	})
}
