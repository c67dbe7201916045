package image

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/quilt-runtime/quilt/libquilt/image/layer"
)

// TestUnpackBadInput feeds broken and hostile images. Each must fail with
// a clear error, and leave no bundle and nothing in the store behind.
func TestUnpackBadInput(t *testing.T) {
	dir := t.TempDir()
	base := busyboxLayer(t)
	good := mkImage(t, testConfig, base)
	baseDiffID, _, _ := v1.SHA256(bytes.NewReader(base))
	goodDir := ociDir(t, filepath.Join(dir, "good"), map[string]v1.Image{"": good})
	goodTar := tarDir(t, goodDir, filepath.Join(dir, "good.tar"))
	docker := dockerSave(t, filepath.Join(dir, "docker.tar"), map[string]v1.Image{"quilt.test/x:1": good})

	// A layer blob replaced by another valid layer under the same name.
	swapped := ociDir(t, filepath.Join(dir, "swapped"), map[string]v1.Image{"": good})
	ls, _ := good.Layers()
	d, _ := ls[0].Digest()
	other, _ := layerOf(t, layerTar(t, treg("x", "y"))).Compressed()
	var ob bytes.Buffer
	ob.ReadFrom(other)
	writeFile(t, filepath.Join(swapped, "blobs/sha256", d.Hex), ob.Bytes())

	// A config whose diff_id does not match the layer.
	cf, _ := good.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[0] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	wrongDiff, err := mutate.ConfigFile(good, cf)
	if err != nil {
		t.Fatal(err)
	}
	badDiffID := ociDir(t, filepath.Join(dir, "diffid"), map[string]v1.Image{"": wrongDiff})

	// A layer of a media type that is not a layer.
	odd, err := tarball.LayerFromOpener(opener(base), tarball.WithMediaType("application/vnd.example.notalayer"))
	if err != nil {
		t.Fatal(err)
	}
	oddImg, err := mutate.AppendLayers(mkImage(t, testConfig), odd)
	if err != nil {
		t.Fatal(err)
	}
	badMedia := ociDir(t, filepath.Join(dir, "media"), map[string]v1.Image{"": oddImg})

	// A layer escaping its root.
	hostile := ociDir(t, filepath.Join(dir, "hostile"), map[string]v1.Image{"": mkImage(t, testConfig, base, layerTar(t, treg("../../escape", "x")))})

	// A bomb: 16 MiB of zeros in a small gzip.
	bomb := filepath.Join(dir, "bomb.tgz")
	writeFile(t, bomb, compressed(t, "gz", layerTar(t, treg("zeros", string(make([]byte, 16<<20))))))

	// An OCI archive bomb: a blob of zeros, the archive gzip-compressed.
	archiveBomb := filepath.Join(dir, "archive-bomb.tgz")
	writeFile(t, archiveBomb, compressed(t, "gz", layerTar(t, treg("oci-layout", "{}"), treg("index.json", "{}"),
		treg("blobs/sha256/"+strings.Repeat("0", 64), string(make([]byte, 16<<20))))))

	gz := compressed(t, "gz", base)
	files := map[string][]byte{
		"garbage":          bytes.Repeat([]byte("not an image "), 100),
		"empty":            nil,
		"truncated.tgz":    gz[:len(gz)/2],
		"truncated-oci":    readFile(t, goodTar)[:len(readFile(t, goodTar))/2],
		"truncated-docker": readFile(t, docker)[:len(readFile(t, docker))-2000],
		"corrupt.tgz":      append(bytes.Clone(gz[:100]), bytes.Repeat([]byte{0x55}, len(gz)-100)...),
	}
	for n, data := range files {
		writeFile(t, filepath.Join(dir, n), data)
	}
	if err := os.Mkdir(filepath.Join(dir, "plain-dir"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, image string
		maxSize     int64
		err         error
		says        string // the message names this
	}{
		{name: "garbage", image: filepath.Join(dir, "garbage"), err: ErrUnknownFormat},
		{name: "empty file", image: filepath.Join(dir, "empty"), err: ErrUnknownFormat},
		{name: "plain directory", image: filepath.Join(dir, "plain-dir"), err: ErrUnknownFormat, says: "oci-layout"},
		{name: "missing", image: filepath.Join(dir, "nothing"), err: os.ErrNotExist},
		{name: "truncated rootfs tgz", image: filepath.Join(dir, "truncated.tgz"), says: "unexpected EOF"},
		{name: "corrupt rootfs tgz", image: filepath.Join(dir, "corrupt.tgz")},
		{name: "truncated OCI tar", image: filepath.Join(dir, "truncated-oci")},
		{name: "truncated docker-save", image: filepath.Join(dir, "truncated-docker")},
		{name: "swapped blob", image: swapped, err: ErrDigest, says: d.String()},
		{name: "wrong diff_id", image: badDiffID, err: ErrDigest, says: strings.Repeat("ab", 32)},
		{name: "unknown media type", image: badMedia, err: ErrUnknownMediaType, says: "application/vnd.example.notalayer"},
		{name: "hostile layer", image: hostile, err: layer.ErrUnsafePath, says: "../../escape"},
		{name: "bomb", image: bomb, maxSize: 4 << 20, err: ErrTooLarge, says: "zeros"},
		{name: "archive bomb", image: archiveBomb, maxSize: 4 << 20, err: ErrTooLarge, says: "decompressed archive"},
	} {
		modes := []bool{true}
		if os.Geteuid() == 0 {
			modes = append(modes, false)
		}
		for _, copyMode := range modes {
			name := c.name + map[bool]string{true: " (copy)", false: " (store)"}[copyMode]
			t.Run(name, func(t *testing.T) {
				top := t.TempDir()
				bundle := filepath.Join(top, "bundle")
				store := filepath.Join(top, "store")
				_, err := Unpack(context.Background(), Options{Image: c.image, Bundle: bundle, Root: store, Copy: copyMode, MaxSize: c.maxSize})
				if err == nil {
					t.Fatal("no error")
				}
				if c.err != nil && !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				if !strings.Contains(err.Error(), c.says) {
					t.Errorf("error %q does not say %q", err, c.says)
				}
				if got := listDir(t, top); got != "" && got != "store" {
					t.Errorf("failed unpack left %q", got)
				}
				// Complete, verified layers of the image may stay in the
				// store; nothing else may.
				for _, d := range []string{"image/tmp", "image/rootfs/sha256"} {
					if got := listDir(t, filepath.Join(store, d)); got != "" {
						t.Errorf("store %s holds %q after a failed import", d, got)
					}
				}
				if got := listDir(t, filepath.Join(store, "image/layers/sha256")); got != "" && got != baseDiffID.Hex {
					t.Errorf("store layers hold %q after a failed import", got)
				}
			})
		}
	}
	// Nothing escaped from the hostile layer.
	if _, err := os.Lstat(filepath.Join(dir, "escape")); !os.IsNotExist(err) {
		t.Errorf("hostile entry written outside: %v", err)
	}
}

// TestUnpackExistingBundle refuses to touch a bundle that exists, and
// accepts a directory with an empty rootfs.
func TestUnpackExistingBundle(t *testing.T) {
	dir := t.TempDir()
	src := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"": mkImage(t, testConfig, busyboxLayer(t))})

	withConfig := filepath.Join(dir, "with-config")
	os.Mkdir(withConfig, 0o755)
	writeFile(t, filepath.Join(withConfig, "config.json"), []byte("mine"))
	withRootfs := filepath.Join(dir, "with-rootfs")
	os.MkdirAll(filepath.Join(withRootfs, "rootfs"), 0o755)
	writeFile(t, filepath.Join(withRootfs, "rootfs/file"), []byte("mine"))
	for _, b := range []string{withConfig, withRootfs} {
		before := tree(t, b)
		_, err := Unpack(context.Background(), Options{Image: src, Bundle: b, Copy: true})
		if !errors.Is(err, ErrBundleExists) {
			t.Errorf("%s: err = %v, want ErrBundleExists", b, err)
		}
		after := tree(t, b)
		if len(before) != len(after) {
			t.Errorf("%s changed: %v -> %v", b, before, after)
		}
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s: %s changed", b, k)
			}
		}
	}

	emptyRootfs := filepath.Join(dir, "empty-rootfs")
	os.MkdirAll(filepath.Join(emptyRootfs, "rootfs"), 0o755)
	writeFile(t, filepath.Join(emptyRootfs, "README"), []byte("keep"))
	if _, err := Unpack(context.Background(), Options{Image: src, Bundle: emptyRootfs, Copy: true}); err != nil {
		t.Fatal(err)
	}
	if err := Remove(emptyRootfs); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, emptyRootfs); got != "README" {
		t.Errorf("after Remove the bundle holds %q, want its README only", got)
	}
	// A failed unpack into a bundle with an empty rootfs leaves it so.
	_, err := Unpack(context.Background(), Options{Image: src, Bundle: emptyRootfs, Copy: true, MaxSize: 1000})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if got := listDir(t, emptyRootfs); got != "README" {
		t.Errorf("after a failed unpack the bundle holds %q", got)
	}
	if err := Remove(emptyRootfs); !errors.Is(err, ErrNotBundle) {
		t.Errorf("Remove of a directory Unpack did not make: %v", err)
	}
}
