package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// storeRoot returns a private store root for a test that needs root.
func storeRoot(t testing.TB) string {
	t.Helper()
	needRoot(t)
	return filepath.Join(t.TempDir(), "store")
}

func mustImport(t testing.TB, o ImportOptions) *Stored {
	t.Helper()
	s, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mkBundle makes the bundle dir of s, removed when the test ends.
func mkBundle(t testing.TB, root string, s *Stored, dir string) *Result {
	t.Helper()
	t.Cleanup(func() { Remove(dir) })
	r, err := BundleFromStored(context.Background(), root, s, BundleOptions{Bundle: dir})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// unpackedBytes is what Stored.Size counts of an uncompressed layer: the
// sizes of its regular files and the lengths of its symlinks.
func unpackedBytes(t testing.TB, data []byte) int64 {
	t.Helper()
	var n int64
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			n += hdr.Size
		case tar.TypeSymlink:
			n += int64(len(hdr.Linkname))
		}
	}
}

// decompressed returns the uncompressed content of the file p.
func decompressed(t testing.TB, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, release, err := decompress(f)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Of(t testing.TB, data []byte) string {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// TestImportFormats imports an image from every format into one store:
// the record names the image as Unpack does, the formats share the layer
// by diffID, and a bundle of the record is the one Unpack makes.
func TestImportFormats(t *testing.T) {
	root := storeRoot(t)
	dir := t.TempDir()
	base := busyboxLayer(t)
	img := mkImage(t, testConfig, base)
	manifest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	config, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	images := formatImages(t, dir, img, base)
	layers := map[string]bool{}
	for what, p := range images {
		t.Run(what, func(t *testing.T) {
			content, id := base, manifest.String()
			switch {
			case strings.HasPrefix(what, "docker-save"):
				id = config.String()
			case strings.HasPrefix(what, "rootfs"):
				content, id = decompressed(t, p), sha256Of(t, readFile(t, p))
			}
			start := time.Now()
			s := mustImport(t, ImportOptions{Image: p, Root: root})
			t.Logf("import in %v", time.Since(start))
			if s.ID != id || !slices.Equal(s.Layers, []string{sha256Of(t, content)}) || !slices.Contains(s.Names, p) {
				t.Errorf("record %s %v %q, want %s %s named %s", s.ID, s.Layers, s.Names, id, sha256Of(t, content), p)
			}
			if want := unpackedBytes(t, content); s.Size != want {
				t.Errorf("size %d, want %d", s.Size, want)
			}
			layers[s.Layers[0]] = true

			copied := filepath.Join(t.TempDir(), "copy")
			r, err := Unpack(context.Background(), Options{Image: p, Bundle: copied, Copy: true})
			if err != nil {
				t.Fatal(err)
			}
			stored := mkBundle(t, root, s, filepath.Join(t.TempDir(), "stored"))
			if stored.Format != r.Format || !stored.Overlay || stored.Digest != s.ID {
				t.Errorf("result %+v, Unpack's %+v", stored, r)
			}
			if got, want := readFile(t, filepath.Join(stored.Rootfs, "../config.json")), readFile(t, filepath.Join(copied, "config.json")); !bytes.Equal(got, want) {
				t.Errorf("config.json differs from Unpack's:\n%s\n%s", got, want)
			}
			got, want := tree(t, stored.Rootfs), tree(t, r.Rootfs)
			delete(got, ".")
			delete(want, ".")
			if len(got) != len(want) {
				t.Errorf("rootfs has %d entries, Unpack's %d", len(got), len(want))
			}
			for p, d := range want {
				if got[p] != d {
					t.Errorf("%s: %q, Unpack's %q", p, got[p], d)
				}
			}
		})
	}
	// One layer for all but the xz tarball, which holds other files.
	if got := listDir(t, filepath.Join(root, "image/layers/sha256")); len(strings.Fields(got)) != len(layers) || len(layers) != 2 {
		t.Errorf("store layers %q, want the %d the records name", got, len(layers))
	}
	all, err := ListStored(root)
	if err != nil {
		t.Fatal(err)
	}
	// One image for the OCI layouts, one for the docker-save archives, one
	// per rootfs tarball.
	if len(all) != 6 {
		t.Errorf("%d records, want 6", len(all))
	}
}

// TestImportAgain imports an image a second time, from the same path and
// from another: the record stays, the path is added, no layer is unpacked
// again.
func TestImportAgain(t *testing.T) {
	root := storeRoot(t)
	dir := t.TempDir()
	img := mkImage(t, testConfig, busyboxLayer(t), layerTar(t, treg("data", "x")))
	layout := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": img})
	archive := tarDir(t, layout, filepath.Join(dir, "image.tar"))

	first := mustImport(t, ImportOptions{Image: layout, Root: root})
	layerDir := filepath.Join(root, "image/layers", strings.Replace(first.Layers[1], ":", "/", 1))
	before, err := os.Stat(layerDir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	again := mustImport(t, ImportOptions{Image: layout, Root: root})
	t.Logf("second import in %v", time.Since(start))
	if again.ID != first.ID || !again.Imported.Equal(first.Imported) || !slices.Equal(again.Names, []string{layout}) {
		t.Errorf("second import %+v, first %+v", again, first)
	}
	other := mustImport(t, ImportOptions{Image: archive, Root: root})
	if other.ID != first.ID || !slices.Equal(other.Names, []string{layout, archive}) {
		t.Errorf("import from %s: %s %q", archive, other.ID, other.Names)
	}
	loaded, err := LoadStored(root, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded.Names, []string{layout, archive}) || loaded.Size != first.Size || loaded.Size == 0 {
		t.Errorf("loaded %+v", loaded)
	}
	after, err := os.Stat(layerDir)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the layer was unpacked again")
	}
	if got := listDir(t, filepath.Join(root, "image/images")); got != strings.TrimPrefix(first.ID, "sha256:")+".json" {
		t.Errorf("records %q", got)
	}
}

// TestImportProgress checks the reports of imports of several formats,
// first and again.
func TestImportProgress(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	img := mkImage(t, testConfig, busyboxLayer(t), layerTar(t, treg("a", "a")), layerTar(t, treg("b", "b")))
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
	}
	rootfs := filepath.Join(dir, "rootfs.tgz")
	writeFile(t, rootfs, compressed(t, "gz", busyboxLayer(t)))
	fi, err := os.Stat(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, image string
		totals      []int64 // 0: unknown
	}{
		{"OCI layout", ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": img}), sizes},
		{"docker-save", dockerSave(t, filepath.Join(dir, "docker.tar"), map[string]v1.Image{"quilt.test/x:1": img}), []int64{0, 0, 0}},
		{"rootfs tarball", rootfs, []int64{fi.Size()}},
	} {
		root := filepath.Join(dir, "store-"+c.name) // each format reads its layers
		for _, pass := range []string{"first", "again"} {
			t.Run(c.name+" "+pass, func(t *testing.T) {
				var got []Progress
				mustImport(t, ImportOptions{Image: c.image, Root: root, Progress: func(p Progress) { got = append(got, p) }})
				checkProgress(t, got, c.totals, pass == "first")
			})
		}
	}
}

// checkProgress checks the reports of an import of an image whose layer
// blobs have the sizes totals (0 when the image does not tell); fresh
// when the layers were not in the store, so that each was read.
func checkProgress(t *testing.T, got []Progress, totals []int64, fresh bool) {
	t.Helper()
	n := len(totals)
	if len(got) < n+2 || got[0].Phase != PhaseReading {
		t.Fatalf("reports %+v: want reading, a report per layer, done", got)
	}
	last := got[len(got)-1]
	if last.Phase != PhaseDone || last.Layer != n || last.Layers != n {
		t.Errorf("last report %+v, want done with %d layers", last, n)
	}
	final := make([]int64, n) // each layer's last Bytes
	var sumBytes, sumTotal int64
	for _, p := range got[1 : len(got)-1] {
		switch p.Phase {
		case PhaseReading:
			if slices.Max(final) != 0 {
				t.Errorf("reading after unpacking: %+v", p)
			}
		case PhaseUnpacking:
			if p.Layers != n || p.Layer < 1 || p.Layer > n || p.Total != totals[p.Layer-1] || (p.Total > 0 && p.Bytes > p.Total) {
				t.Errorf("report %+v, want layer of %d, total %v", p, n, totals)
				continue
			}
			if p.Bytes < final[p.Layer-1] {
				t.Errorf("report %+v goes back from %d bytes", p, final[p.Layer-1])
			}
			final[p.Layer-1] = p.Bytes
		default:
			t.Errorf("report %+v in the middle", p)
		}
	}
	for i, b := range final {
		if (fresh && b == 0) || (totals[i] > 0 && b != totals[i]) {
			t.Errorf("layer %d ends at %d bytes of %d", i+1, b, totals[i])
		}
		sumBytes += b
		sumTotal += totals[i]
	}
	if last.Bytes != sumBytes || last.Total != sumTotal {
		t.Errorf("done %+v, want bytes %d of %d", last, sumBytes, sumTotal)
	}
}

// TestStoredRecords lists, loads, names and removes images that share a
// layer: removing one keeps what the other uses.
func TestStoredRecords(t *testing.T) {
	root := storeRoot(t)
	dir := t.TempDir()
	base := busyboxLayer(t)
	pathA := ociDir(t, filepath.Join(dir, "a"), map[string]v1.Image{"": mkImage(t, testConfig, base, layerTar(t, treg("a", "a")))})
	pathB := ociDir(t, filepath.Join(dir, "b"), map[string]v1.Image{"": mkImage(t, testConfig, base, layerTar(t, treg("b", "b")))})
	if all, err := ListStored(root); err != nil || len(all) != 0 {
		t.Fatalf("store that does not exist: %v, %v", all, err)
	}
	if err := RemoveStored(root, strings.Repeat("a", 64)); !errors.Is(err, ErrNotExist) {
		t.Errorf("remove from a store that does not exist: %v", err)
	}
	a := mustImport(t, ImportOptions{Image: pathA, Root: root})
	b := mustImport(t, ImportOptions{Image: pathB, Root: root})
	all, err := ListStored(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Fatalf("list %+v, want %s then %s", all, a.ID, b.ID)
	}
	for _, c := range []struct {
		id  string
		err error
	}{
		{id: a.ID},
		{id: strings.TrimPrefix(b.ID, "sha256:")},
		{id: "sha256:" + strings.Repeat("0", 64), err: ErrNotExist},
		{id: "nope", err: ErrInvalidID},
		{id: "../../" + strings.Repeat("0", 58), err: ErrInvalidID},
		{id: strings.ToUpper(strings.TrimPrefix(a.ID, "sha256:")), err: ErrInvalidID},
		{id: "sha512:" + strings.Repeat("0", 64), err: ErrInvalidID},
	} {
		s, err := LoadStored(root, c.id)
		if !errors.Is(err, c.err) {
			t.Errorf("load %q: %v, want %v", c.id, err, c.err)
		}
		if err == nil && !strings.HasSuffix(s.ID, c.id) {
			t.Errorf("load %q gave %s", c.id, s.ID)
		}
		if c.err == ErrNotExist && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("load %q: %v is not an os.ErrNotExist", c.id, err)
		}
	}
	for range 2 {
		if err := a.AddName(root, "example.com/a:1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&Stored{ID: a.ID}).AddName(filepath.Join(dir, "no-store"), "x"); !errors.Is(err, ErrNotExist) {
		t.Errorf("AddName in a store that does not exist: %v", err)
	}
	if got, err := LoadStored(root, a.ID); err != nil || !slices.Equal(got.Names, []string{pathA, "example.com/a:1"}) || !slices.Equal(a.Names, got.Names) {
		t.Errorf("names after AddName: %q (%v), in memory %q", got.Names, err, a.Names)
	}
	if err := a.RemoveName(root, "example.com/a:1"); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadStored(root, a.ID); err != nil || !slices.Equal(got.Names, []string{pathA}) || !slices.Equal(a.Names, got.Names) {
		t.Errorf("names after RemoveName: %q (%v), in memory %q", got.Names, err, a.Names)
	}
	if err := a.AddName(root, "example.com/a:1"); err != nil {
		t.Fatal(err)
	}

	// A mounted bundle of a keeps its layers in the store.
	bundle := filepath.Join(dir, "bundle-a")
	mkBundle(t, root, a, bundle)
	if err := RemoveStored(root, a.ID); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("remove of an image in use: %v", err)
	}
	if err := Remove(bundle); err != nil {
		t.Fatal(err)
	}
	if err := RemoveStored(root, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStored(root, a.ID); !errors.Is(err, ErrNotExist) {
		t.Errorf("load of a removed image: %v", err)
	}
	if err := RemoveStored(root, a.ID); !errors.Is(err, ErrNotExist) {
		t.Errorf("remove of a removed image: %v", err)
	}
	if _, err := BundleFromStored(context.Background(), root, a, BundleOptions{Bundle: bundle}); !errors.Is(err, ErrNotExist) {
		t.Errorf("bundle of a removed image: %v", err)
	}
	if _, err := os.Stat(bundle); !os.IsNotExist(err) {
		t.Errorf("failed bundle left %s: %v", bundle, err)
	}
	var want []string
	for _, l := range b.Layers {
		want = append(want, strings.TrimPrefix(l, "sha256:"))
	}
	slices.Sort(want)
	if got := listDir(t, filepath.Join(root, "image/layers/sha256")); got != strings.Join(want, " ") {
		t.Errorf("layers after removing a: %q, want b's %q", got, want)
	}
	rb := mkBundle(t, root, b, filepath.Join(dir, "bundle-b"))
	if got := readFile(t, filepath.Join(rb.Rootfs, "b")); string(got) != "b" {
		t.Errorf("b's bundle: b = %q", got)
	}
	if err := Remove(filepath.Join(dir, "bundle-b")); err != nil {
		t.Fatal(err)
	}
	if err := RemoveStored(root, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"layers/sha256", "images", "tmp", "rootfs/sha256"} {
		if got := listDir(t, filepath.Join(root, "image", d)); got != "" {
			t.Errorf("%s holds %q after removing every image", d, got)
		}
	}
}

// TestStoredRootfsRemove removes a rootfs tarball's image: the next
// import unpacks it again.
func TestStoredRootfsRemove(t *testing.T) {
	root := storeRoot(t)
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	writeFile(t, p, busyboxLayer(t))
	s := mustImport(t, ImportOptions{Image: p, Root: root})
	if err := RemoveStored(root, s.ID); err != nil {
		t.Fatal(err)
	}
	again := mustImport(t, ImportOptions{Image: p, Root: root})
	if again.ID != s.ID || !slices.Equal(again.Layers, s.Layers) {
		t.Errorf("import after remove: %+v, first %+v", again, s)
	}
	r := mkBundle(t, root, again, filepath.Join(t.TempDir(), "b"))
	if got := readFile(t, filepath.Join(r.Rootfs, "etc/hostname")); string(got) != "image\n" {
		t.Errorf("hostname = %q", got)
	}
}

// BenchmarkImport imports a five-layer image of 2,000 files and 100 MiB
// into a new store, then again into the same store.
func BenchmarkImport(b *testing.B) {
	needRoot(b)
	dir := b.TempDir()
	var layers [][]byte
	body := make([]byte, 50<<10)
	for i := range 5 {
		var files []tfile
		files = append(files, tdir(fmt.Sprintf("d%d/", i)))
		for j := range 400 {
			for k := range body {
				body[k] = byte((j*k + i) % 61) // compressible, not trivially
			}
			files = append(files, treg(fmt.Sprintf("d%d/f%d", i, j), string(body)))
		}
		layers = append(layers, layerTar(b, files...))
	}
	src := ociDir(b, filepath.Join(dir, "layout"), map[string]v1.Image{"": mkImage(b, v1.Config{}, layers...)})
	b.Run("new", func(b *testing.B) {
		i := 0
		for b.Loop() {
			root := filepath.Join(dir, fmt.Sprint("store", i))
			i++
			mustImport(b, ImportOptions{Image: src, Root: root})
			b.StopTimer()
			os.RemoveAll(root)
			b.StartTimer()
		}
	})
	b.Run("again", func(b *testing.B) {
		root := filepath.Join(dir, "store")
		mustImport(b, ImportOptions{Image: src, Root: root})
		for b.Loop() {
			mustImport(b, ImportOptions{Image: src, Root: root})
		}
	})
}
