package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/spec/imageconfig"
)

// fiveLayers returns the path of an OCI layout of a five-layer image: the
// busybox root filesystem and four layers that each add a file and change
// the one below's.
func fiveLayers(t testing.TB, dir string) string {
	t.Helper()
	layers := [][]byte{busyboxLayer(t)}
	for i := range 4 {
		layers = append(layers, layerTar(t, tdir("data/"), treg(fmt.Sprintf("data/%d", i), "layer"), treg("data/top", fmt.Sprint(i))))
	}
	return ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": mkImage(t, testConfig, layers...)})
}

// TestBundleFromStored makes bundles of a stored five-layer image: each
// has the image's files and config, and what one writes reaches neither
// another nor the store.
func TestBundleFromStored(t *testing.T) {
	root := storeRoot(t)
	dir := t.TempDir()
	s := mustImport(t, ImportOptions{Image: fiveLayers(t, dir), Root: root})
	// The image file is not needed any more.
	if err := os.RemoveAll(filepath.Join(dir, "layout")); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var took []time.Duration
	for i := range n {
		b := filepath.Join(dir, fmt.Sprint("b", i))
		start := time.Now()
		mkBundle(t, root, s, b)
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("BundleFromStored of %d layers: median %v, slowest %v of %d", len(s.Layers), took[n/2], took[n-1], n)

	b0, b1 := filepath.Join(dir, "b0"), filepath.Join(dir, "b1")
	for _, b := range []string{b0, b1} {
		if m, err := mountinfo.Mounted(filepath.Join(b, "rootfs")); err != nil || !m {
			t.Fatalf("%s/rootfs not mounted: %v", b, err)
		}
		for p, want := range map[string]string{"data/0": "layer", "data/3": "layer", "data/top": "3", "etc/hostname": "image\n"} {
			if got := readFile(t, filepath.Join(b, "rootfs", p)); string(got) != want {
				t.Errorf("%s: %s = %q, want %q", b, p, got, want)
			}
		}
		s := readConfig(t, b)
		if !slices.Equal(s.Process.Args, []string{"/bin/sh", "-c", "echo hello"}) || s.Process.User.UID != 1000 || s.Root.Path != "rootfs" {
			t.Errorf("%s: config %+v %+v", b, s.Process, s.Root)
		}
	}
	checkIsolated(t, root, s.Layers, b0, b1, "data/top", "data/0")
	// The overrides reach the config.
	b := filepath.Join(dir, "override")
	t.Cleanup(func() { Remove(b) })
	if _, err := BundleFromStored(context.Background(), root, s, BundleOptions{Bundle: b, Entrypoint: []string{}, Cmd: []string{"id"}}); err != nil {
		t.Fatal(err)
	}
	if args := readConfig(t, b).Process.Args; !slices.Equal(args, []string{"id"}) {
		t.Errorf("args with overrides = %q", args)
	}
	checkVolatile(t, root, s, filepath.Join(dir, "volatile"))
}

// checkVolatile makes a bundle with BundleOptions.Volatile, sees the
// option on its overlay and removes it.
func checkVolatile(t *testing.T, root string, s *Stored, b string) {
	t.Helper()
	t.Cleanup(func() { Remove(b) })
	if _, err := BundleFromStored(context.Background(), root, s, BundleOptions{Bundle: b, Volatile: true}); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(b, "rootfs")
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(rootfs))
	if err != nil || len(mounts) != 1 {
		t.Fatalf("volatile bundle: %d mounts, %v", len(mounts), err)
	}
	// Newer kernels show the option as fsync=volatile.
	if opts := strings.Split(mounts[0].VFSOptions, ","); !slices.Contains(opts, "volatile") && !slices.Contains(opts, "fsync=volatile") {
		t.Fatalf("volatile bundle: overlay options ...%s", mounts[0].VFSOptions[max(0, len(mounts[0].VFSOptions)-200):])
	}
	if err := os.WriteFile(filepath.Join(rootfs, "written"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Remove(b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("volatile bundle left behind: %v", err)
	}
}

// TestBundleFromStoredConcurrent makes 20 bundles of one image at once,
// while another image is imported into the same store.
func TestBundleFromStoredConcurrent(t *testing.T) {
	root := storeRoot(t)
	dir := t.TempDir()
	s := mustImport(t, ImportOptions{Image: fiveLayers(t, dir), Root: root})
	other := ociDir(t, filepath.Join(dir, "other"), map[string]v1.Image{"": mkImage(t, testConfig, layerTar(t, treg("other", "x")))})
	const n = 20
	bundles := make([]string, n)
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := range n {
		bundles[i] = filepath.Join(dir, fmt.Sprint("b", i))
		t.Cleanup(func() { Remove(bundles[i]) })
		wg.Go(func() {
			if _, errs[i] = BundleFromStored(context.Background(), root, s, BundleOptions{Bundle: bundles[i]}); errs[i] == nil {
				errs[i] = os.WriteFile(filepath.Join(bundles[i], "rootfs/mine"), []byte(bundles[i]), 0o644)
			}
		})
	}
	wg.Go(func() { _, errs[n] = Import(context.Background(), ImportOptions{Image: other, Root: root}) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	for _, b := range bundles {
		if got := readFile(t, filepath.Join(b, "rootfs/mine")); string(got) != b {
			t.Errorf("%s/rootfs/mine = %q", b, got)
		}
		if got := readFile(t, filepath.Join(b, "rootfs/data/top")); string(got) != "3" {
			t.Errorf("%s/rootfs/data/top = %q", b, got)
		}
	}
	if all, err := ListStored(root); err != nil || len(all) != 2 {
		t.Errorf("records %v, %v", all, err)
	}
}

// TestBundleFromStoredFailure makes bundles that cannot be made: each
// fails with its error and leaves the bundle directory as it was, with
// nothing mounted.
func TestBundleFromStoredFailure(t *testing.T) {
	root := storeRoot(t)
	dir := t.TempDir()
	s := mustImport(t, ImportOptions{Image: fiveLayers(t, dir), Root: root})
	stranger := mustImport(t, ImportOptions{Root: root, Image: ociDir(t, filepath.Join(dir, "stranger"),
		map[string]v1.Image{"": mkImage(t, v1.Config{User: "nobody-here"}, busyboxLayer(t))})})

	withConfig := filepath.Join(dir, "with-config")
	if err := os.Mkdir(withConfig, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(withConfig, "config.json"), []byte("mine"))
	withRootfs := filepath.Join(dir, "with-rootfs")
	if err := os.MkdirAll(filepath.Join(withRootfs, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(withRootfs, "rootfs/file"), []byte("mine"))
	emptyRootfs := filepath.Join(dir, "empty-rootfs")
	if err := os.MkdirAll(filepath.Join(emptyRootfs, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}

	missingLayer := *s
	missingLayer.Layers = append(slices.Clone(s.Layers), "sha256:"+strings.Repeat("e", 64))
	badLayer := *s
	badLayer.Layers = []string{"sha256:../../../../etc"}
	unknown := *s
	unknown.ID = "sha256:" + strings.Repeat("f", 64)
	for _, c := range []struct {
		name   string
		s      *Stored
		bundle string
		err    error
	}{
		{"bundle with a config.json", s, withConfig, ErrBundleExists},
		{"bundle with a rootfs", s, withRootfs, ErrBundleExists},
		{"layer missing from the store", &missingLayer, filepath.Join(dir, "new1"), ErrCorrupt},
		{"invalid layer", &badLayer, filepath.Join(dir, "new2"), ErrCorrupt},
		{"image not in store", &unknown, filepath.Join(dir, "new3"), ErrNotExist},
		{"user not in the image (after the mount)", stranger, emptyRootfs, imageconfig.ErrUnknownUser},
		{"user not in the image, new bundle", stranger, filepath.Join(dir, "new4"), imageconfig.ErrUnknownUser},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Cleanup(func() { Remove(c.bundle) })
			var before map[string]string
			if _, err := os.Stat(c.bundle); err == nil {
				before = tree(t, c.bundle)
			}
			_, err := BundleFromStored(context.Background(), root, c.s, BundleOptions{Bundle: c.bundle})
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if m, err := mountinfo.Mounted(filepath.Join(c.bundle, "rootfs")); err == nil && m {
				t.Errorf("%s/rootfs left mounted", c.bundle)
			}
			if before == nil {
				if _, err := os.Stat(c.bundle); !os.IsNotExist(err) {
					t.Errorf("failed bundle left %s: %v", c.bundle, err)
				}
				return
			}
			after := tree(t, c.bundle)
			if !equalTrees(before, after) {
				t.Errorf("bundle changed: %v -> %v", before, after)
			}
		})
	}
	if _, err := BundleFromStored(context.Background(), filepath.Join(dir, "no-store"), s, BundleOptions{Bundle: filepath.Join(dir, "new5")}); !errors.Is(err, ErrNotExist) {
		t.Errorf("bundle from a store that does not exist: %v", err)
	}
}

func equalTrees(a, b map[string]string) bool {
	ka, kb := keys(a), keys(b)
	if !slices.Equal(ka, kb) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// TestStoredRemoveManyLayers removes an image of more layers than
// mount(2) can list, mounted through fsconfig(2): RemoveStored sees the
// mount.
func TestStoredRemoveManyLayers(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "store-with-a-long-name-"+strings.Repeat("z", 40))
	var layers [][]byte
	for i := range 48 {
		layers = append(layers, layerTar(t, treg("f", strings.Repeat("x", i))))
	}
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": mkImage(t, v1.Config{}, layers...)})
	s := mustImport(t, ImportOptions{Image: src, Root: root})
	b := filepath.Join(dir, "b")
	mkBundle(t, root, s, b)
	if err := RemoveStored(root, s.ID); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("remove of an image in use: %v", err)
	}
	if got := readFile(t, filepath.Join(b, "rootfs/f")); len(got) != 47 {
		t.Errorf("f has %d bytes, want the top layer's 47", len(got))
	}
	// The layers do not fit in mount(2)'s options: fsconfig(2) sets
	// volatile too.
	checkVolatile(t, root, s, filepath.Join(dir, "v"))
}

// BenchmarkBundleFromStored makes bundles of a stored five-layer image.
func BenchmarkBundleFromStored(b *testing.B) {
	root := storeRoot(b)
	dir := b.TempDir()
	s := mustImport(b, ImportOptions{Image: fiveLayers(b, dir), Root: root})
	i := 0
	for b.Loop() {
		bundle := filepath.Join(dir, fmt.Sprint("b", i))
		i++
		if _, err := BundleFromStored(context.Background(), root, s, BundleOptions{Bundle: bundle}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := Remove(bundle); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// TestDiscardBusy: Remove refuses a rootfs in use and leaves the bundle as
// it was; Discard detaches it and removes the bundle.
func TestDiscardBusy(t *testing.T) {
	needRoot(t)
	root := storeRoot(t)
	dir := t.TempDir()
	s := mustImport(t, ImportOptions{Image: fiveLayers(t, dir), Root: root})
	b := filepath.Join(dir, "busy")
	mkBundle(t, root, s, b)
	t.Cleanup(func() { unix.Unmount(filepath.Join(b, "rootfs"), unix.MNT_DETACH) })
	f, err := os.Open(filepath.Join(b, "rootfs", "etc", "hostname"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Remove(b); !errors.Is(err, unix.EBUSY) {
		t.Fatalf("Remove of a busy rootfs: %v, want EBUSY", err)
	}
	if got := readFile(t, filepath.Join(b, "rootfs", "etc", "hostname")); string(got) != "image\n" {
		t.Fatalf("after the refused Remove: hostname %q", got)
	}
	if err := Discard(b); err != nil {
		t.Fatalf("Discard of a busy rootfs: %v", err)
	}
	if _, err := os.Stat(b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bundle left after Discard: %v", err)
	}
	// The open file still reads: the detached overlay lives until it
	// is let go.
	if _, err := f.Seek(0, 0); err != nil {
		t.Error(err)
	}
}
