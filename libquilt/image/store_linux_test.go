package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// TestStoreBundles makes two bundles of one image from the store: the
// second reuses the layers, and what one container writes reaches neither
// the other nor the image.
func TestStoreBundles(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	base := busyboxLayer(t)
	img := mkImage(t, testConfig, base, layerTar(t, tdir("data/"), treg("data/file", "image")))
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": img})
	b1, b2 := filepath.Join(dir, "b1"), filepath.Join(dir, "b2")
	t.Cleanup(func() { Remove(b1); Remove(b2) })

	r1, err := Unpack(context.Background(), Options{Image: src, Bundle: b1, Root: store})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r2, err := Unpack(context.Background(), Options{Image: src, Bundle: b2, Root: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second bundle in %v", time.Since(start))
	if r1.Digest != r2.Digest || len(r1.Layers) != 2 {
		t.Fatalf("results %+v, %+v", r1, r2)
	}
	if got := listDir(t, filepath.Join(store, "image/layers/sha256")); len(strings.Fields(got)) != 2 {
		t.Errorf("store layers = %q, want the 2 layers once", got)
	}
	if got := listDir(t, filepath.Join(store, "image/tmp")); got != "" {
		t.Errorf("store tmp holds %q", got)
	}
	for _, b := range []string{b1, b2} {
		if m, err := mountinfo.Mounted(filepath.Join(b, "rootfs")); err != nil || !m {
			t.Fatalf("%s/rootfs not mounted: %v", b, err)
		}
	}
	checkIsolated(t, store, r1.Layers, b1, b2, "data/file", "etc/hostname")

	// After a reboot (the mount is gone), Mount brings the rootfs back
	// with the container's changes.
	if err := unix.Unmount(filepath.Join(b1, "rootfs"), 0); err != nil {
		t.Fatal(err)
	}
	if err := Mount(b1); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(b1, "rootfs/new")); string(got) != "new" {
		t.Errorf("after Mount, new = %q", got)
	}
	if err := Mount(b1); err != nil {
		t.Errorf("Mount of a mounted bundle: %v", err)
	}

	// A third bundle of another image sharing the base layer adds one layer.
	other := ociDir(t, filepath.Join(dir, "other"), map[string]v1.Image{"": mkImage(t, testConfig, base, layerTar(t, treg("other", "x")))})
	b3 := filepath.Join(dir, "b3")
	if _, err := Unpack(context.Background(), Options{Image: other, Bundle: b3, Root: store}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, filepath.Join(store, "image/layers/sha256")); len(strings.Fields(got)) != 3 {
		t.Errorf("store layers = %q, want 3", got)
	}
	for _, b := range []string{b1, b2, b3} {
		if err := Remove(b); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(b); !os.IsNotExist(err) {
			t.Errorf("Remove left %s: %v", b, err)
		}
	}
	if got := listDir(t, filepath.Join(store, "image/layers/sha256")); len(strings.Fields(got)) != 3 {
		t.Errorf("Remove changed the store: %q", got)
	}
}

// checkIsolated changes, adds ("new") and removes (remove) files in the
// rootfs of bundle a, and checks that neither bundle b nor the store's
// layers see it.
func checkIsolated(t *testing.T, store string, layers []string, a, b, change, remove string) {
	t.Helper()
	want := readFile(t, filepath.Join(b, "rootfs", change))
	writeFile(t, filepath.Join(a, "rootfs", change), []byte("changed"))
	writeFile(t, filepath.Join(a, "rootfs/new"), []byte("new"))
	if err := os.Remove(filepath.Join(a, "rootfs", remove)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(b, "rootfs", change)); !bytes.Equal(got, want) {
		t.Errorf("%s sees the write of %s: %q", b, a, got)
	}
	if _, err := os.Stat(filepath.Join(b, "rootfs/new")); !os.IsNotExist(err) {
		t.Errorf("%s sees the new file of %s: %v", b, a, err)
	}
	if _, err := os.Stat(filepath.Join(b, "rootfs", remove)); err != nil {
		t.Errorf("%s lost a file %s removed: %v", b, a, err)
	}
	for _, l := range layers {
		layerDir := filepath.Join(store, "image/layers", strings.Replace(l, ":", "/", 1))
		if _, err := os.Stat(filepath.Join(layerDir, "new")); !os.IsNotExist(err) {
			t.Errorf("the store layer %s got the container's file", l)
		}
	}
}

// TestStoreConcurrent imports one image into one store from several
// goroutines at once: each layer is unpacked once, every bundle is whole.
func TestStoreConcurrent(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	img := mkImage(t, testConfig, busyboxLayer(t), layerTar(t, treg("a", "a")), layerTar(t, treg("b", "b")))
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": img})
	if err := os.Mkdir(filepath.Join(dir, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		b := filepath.Join(dir, "b", string(rune('0'+i)))
		t.Cleanup(func() { Remove(b) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Unpack(context.Background(), Options{Image: src, Bundle: b, Root: store})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("import %d: %v", i, err)
		}
		b := filepath.Join(dir, "b", string(rune('0'+i)))
		if got := readFile(t, filepath.Join(b, "rootfs/b")); string(got) != "b" {
			t.Errorf("bundle %d: b = %q", i, got)
		}
	}
	if got := listDir(t, filepath.Join(store, "image/layers/sha256")); len(strings.Fields(got)) != 3 {
		t.Errorf("store layers = %q", got)
	}
	if got := listDir(t, filepath.Join(store, "image/tmp")); got != "" {
		t.Errorf("store tmp holds %q", got)
	}
}

// TestStoreCrashLeftovers leaves what a crashed import would (a layer half
// unpacked in tmp/), which the next import of the layer removes.
func TestStoreCrashLeftovers(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	img := mkImage(t, testConfig, busyboxLayer(t))
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	diffID, err := layers[0].DiffID()
	if err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(store, "image/tmp", diffID.Hex+"-12345")
	if err := os.MkdirAll(filepath.Join(half, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": img})
	b := filepath.Join(dir, "b")
	t.Cleanup(func() { Remove(b) })
	if _, err := Unpack(context.Background(), Options{Image: src, Bundle: b, Root: store}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, filepath.Join(store, "image/tmp")); got != "" {
		t.Errorf("store tmp holds %q", got)
	}
}

// TestStoreManyLayers mounts an image with more layers than mount(2)'s
// option page can list.
func TestStoreManyLayers(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	var layers [][]byte
	for i := range 48 {
		layers = append(layers, layerTar(t, treg("f", strings.Repeat("x", i)), treg(strings.Repeat("y", i+1), "")))
	}
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": mkImage(t, v1.Config{}, layers...)})
	b := filepath.Join(dir, "b")
	t.Cleanup(func() { Remove(b) })
	if _, err := Unpack(context.Background(), Options{Image: src, Bundle: b, Root: filepath.Join(dir, "store-with-a-long-name-"+strings.Repeat("z", 40))}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(b, "rootfs/f")); len(got) != 47 {
		t.Errorf("f has %d bytes, want the top layer's 47", len(got))
	}
}

// TestStoreRootfsTarball stores a rootfs tarball: the second bundle finds
// its layer through the file's digest.
func TestStoreRootfsTarball(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	p := filepath.Join(dir, "rootfs.tar.zst")
	writeFile(t, p, compressed(t, "zst", busyboxLayer(t)))
	for _, b := range []string{"b1", "b2"} {
		b = filepath.Join(dir, b)
		t.Cleanup(func() { Remove(b) })
		r, err := Unpack(context.Background(), Options{Image: p, Bundle: b, Root: store})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Layers) != 1 || r.Digest == "" || r.Format != "rootfs tarball" {
			t.Errorf("result %+v", r)
		}
		if got := readFile(t, filepath.Join(b, "rootfs/etc/hostname")); string(got) != "image\n" {
			t.Errorf("hostname = %q", got)
		}
	}
	if got := listDir(t, filepath.Join(store, "image/layers/sha256")); len(strings.Fields(got)) != 1 {
		t.Errorf("store layers = %q", got)
	}
}

// TestStoreCrossLayerLink stores an image whose upper layer hard links a
// file of the layer below: the link becomes a copy in the upper layer.
func TestStoreCrossLayerLink(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	img := mkImage(t, testConfig, busyboxLayer(t), layerTar(t, tfile{name: "bin/again", link: "bin/busybox", typ: tar.TypeLink}))
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": img})
	b := filepath.Join(dir, "b")
	t.Cleanup(func() { Remove(b) })
	if _, err := Unpack(context.Background(), Options{Image: src, Bundle: b, Root: filepath.Join(dir, "store")}); err != nil {
		t.Fatal(err)
	}
	a, c := readFile(t, filepath.Join(b, "rootfs/bin/again")), readFile(t, filepath.Join(b, "rootfs/bin/busybox"))
	if len(a) == 0 || !bytes.Equal(a, c) {
		t.Errorf("bin/again has %d bytes, bin/busybox %d", len(a), len(c))
	}
}
