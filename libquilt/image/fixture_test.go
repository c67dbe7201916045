package image

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/ulikunitz/xz"
)

// busybox is the static binary the test images run.
const busybox = "/bin/busybox"

var fixtureTime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// tfile is one entry of a fixture layer.
type tfile struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tdir(name string) tfile           { return tfile{name: name, typ: tar.TypeDir, mode: 0o755} }
func treg(name, body string) tfile     { return tfile{name: name, body: body, mode: 0o644} }
func tsym(name, to string) tfile       { return tfile{name: name, link: to, typ: tar.TypeSymlink} }
func twhiteout(dir, name string) tfile { return treg(filepath.Join(dir, ".wh."+name), "") }

// layerTar builds an uncompressed layer.
func layerTar(t testing.TB, files ...tfile) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Linkname: f.link, Typeflag: f.typ, Mode: f.mode, ModTime: fixtureTime}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o777
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(f.body))
		}
		if err := w.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// busyboxLayer is a small root filesystem: busybox, a shell, and a user
// database with a user "app".
func busyboxLayer(t testing.TB) []byte {
	t.Helper()
	baseOnce.Do(func() {
		bin, err := os.ReadFile(busybox)
		if err != nil {
			return
		}
		baseLayer = mkBusyboxLayer(t, bin)
	})
	if baseLayer == nil {
		t.Skipf("test images need %s (apt-get install busybox-static)", busybox)
	}
	return baseLayer
}

var (
	baseOnce  sync.Once
	baseLayer []byte
)

func mkBusyboxLayer(t testing.TB, bin []byte) []byte {
	return layerTar(t,
		tdir("./"), tdir("bin/"), tdir("etc/"), tdir("tmp/"),
		tfile{name: "bin/busybox", body: string(bin), mode: 0o755},
		tsym("bin/sh", "busybox"), tsym("bin/ls", "/bin/busybox"),
		treg("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"),
		treg("etc/group", "root:x:0:\napp:x:1000:\nstaff:x:50:app\n"),
		treg("etc/hostname", "image\n"),
	)
}

// layerOf wraps an uncompressed layer for go-containerregistry, which
// stores it gzip-compressed.
func layerOf(t testing.TB, data []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(opener(data), tarball.WithCompressedCaching, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testConfig is the configuration the fixture images carry.
var testConfig = v1.Config{
	Entrypoint: []string{"/bin/sh", "-c"},
	Cmd:        []string{"echo hello"},
	Env:        []string{"PATH=/bin", "GREETING=hi"},
	WorkingDir: "/tmp",
	User:       "app",
	StopSignal: "SIGINT",
	Labels:     map[string]string{"org.example.fixture": "yes"},
}

// mkImage builds an image of the given uncompressed layers.
func mkImage(t testing.TB, cfg v1.Config, layers ...[]byte) v1.Image {
	t.Helper()
	var ls []v1.Layer
	for _, l := range layers {
		ls = append(ls, layerOf(t, l))
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ociDir writes images into a new OCI layout, each with its ref.name.
func ociDir(t testing.TB, dir string, images map[string]v1.Image) string {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for ref, img := range images {
		var opts []layout.Option
		if ref != "" {
			opts = append(opts, layout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: ref}))
		}
		if err := p.AppendImage(img, opts...); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dockerSave writes images as a docker-save archive.
func dockerSave(t testing.TB, p string, images map[string]v1.Image) string {
	t.Helper()
	m := map[name.Tag]v1.Image{}
	for tag, img := range images {
		nt, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		m[nt] = img
	}
	if err := tarball.MultiWriteToFile(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

// formatImages writes img in every format Unpack reads, and a rootfs
// tarball of the uncompressed layer base in every compression, into dir,
// each named so that the name could not tell the format. It returns their
// paths by what they are: "OCI layout directory", "OCI layout tar",
// "docker-save", "... .gz", "rootfs tar zst" etc. The xz tarball holds
// only the small files of base's shape (Go's xz encoder is slow).
func formatImages(t testing.TB, dir string, img v1.Image, base []byte) map[string]string {
	t.Helper()
	layoutDir := ociDir(t, filepath.Join(dir, "layout"), map[string]v1.Image{"latest": img})
	ociTar := tarDir(t, layoutDir, filepath.Join(dir, "oci.bin"))
	docker := dockerSave(t, filepath.Join(dir, "docker.bin"), map[string]v1.Image{"quilt.test/busybox:1": img})
	images := map[string]string{
		"OCI layout directory": layoutDir,
		"OCI layout tar":       ociTar,
		"docker-save":          docker,
	}
	for _, c := range []string{"gz", "zst"} {
		p := filepath.Join(dir, "oci-"+c+".tar")
		writeFile(t, p, compressed(t, c, readFile(t, ociTar)))
		images["OCI layout tar."+c] = p
		p = filepath.Join(dir, "docker-"+c+".zip")
		writeFile(t, p, compressed(t, c, readFile(t, docker)))
		images["docker-save."+c] = p
	}
	for _, c := range []string{"", "gz", "xz", "zst"} {
		p := filepath.Join(dir, "rootfs-"+c+".json")
		content := base
		if c == "xz" {
			content = layerTar(t, tdir("etc/"), tdir("bin/"), treg("etc/hostname", "image\n"), tsym("bin/sh", "busybox"))
		}
		writeFile(t, p, compressed(t, c, content))
		images["rootfs tar "+c] = p
	}
	return images
}

// tarDir writes the tree under dir as an uncompressed tar at p.
func tarDir(t testing.TB, dir, p string) string {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	if err := w.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, b.Bytes())
	return p
}

// compressed returns data compressed as kind ("gz", "xz", "zst"; "" for
// none).
func compressed(t testing.TB, kind string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "":
		return data
	case "gz":
		w = gzip.NewWriter(&b)
	case "xz":
		w, err = xz.NewWriter(&b)
	case "zst":
		w, err = zstd.NewWriter(&b)
	default:
		t.Fatalf("compression %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tree lists the files under root with their type, mode and content (or
// link target), to compare two root filesystems.
func tree(t testing.TB, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		switch {
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(b) > 64 {
				b = b[:64]
			}
			desc += " " + string(b)
		case info.Mode()&fs.ModeSymlink != 0:
			to, _ := os.Readlink(p)
			desc += " -> " + to
		}
		m[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// listDir returns the names in dir, "" joined by spaces.
func listDir(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// opener serves data to go-containerregistry without the temporary file
// its LayerFromReader leaves behind.
func opener(data []byte) tarball.Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
