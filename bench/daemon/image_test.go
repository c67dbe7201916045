package main

import (
	"archive/tar"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const testBusybox = "/bin/busybox"

func TestWriteImage(t *testing.T) {
	if _, err := filepath.EvalSymlinks(testBusybox); err != nil {
		t.Skip("no busybox:", err)
	}
	dst := filepath.Join(t.TempDir(), "image.tar")
	if err := writeImage(dst, testBusybox); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(imageRef)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(dst, &tag)
	if err != nil {
		t.Fatalf("read back %s as %s: %v", dst, imageRef, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"sh"}) || cf.OS != "linux" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config = %+v", cf)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %v, %v", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	if h := got["bin/busybox"]; h == nil || h.Size == 0 || h.Mode&0o111 == 0 {
		t.Errorf("bin/busybox = %+v, want an executable file", h)
	}
	for _, applet := range []string{"bin/sh", "bin/true", "bin/sleep"} {
		if h := got[applet]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/bin/busybox" {
			t.Errorf("%s = %+v, want a symbolic link to /bin/busybox", applet, h)
		}
	}
}
