package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// applets are the busybox links of the base layer.
var applets = []string{"sh", "ls", "cat", "cp", "mv", "rm", "mkdir", "echo", "env", "id", "ps", "sleep", "true", "false", "test", "grep", "sed", "awk", "find", "tar"}

type stats struct {
	files int
	bytes int64
}

// generate writes an OCI layout at dir holding one image, tagged ref: a
// busybox base layer and layers-1 layers of random files, size bytes of
// file content in all.
func generate(dir, ref string, size, layers int) (stats, error) {
	var st stats
	rng := rand.New(rand.NewChaCha8([32]byte{'q', 'u', 'i', 'l', 't'}))
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return st, fmt.Errorf("read busybox (apt-get install busybox-static): %w", err)
	}
	base := newLayer()
	for _, d := range []string{"bin", "etc", "tmp", "usr", "usr/lib"} {
		base.dir(d)
	}
	base.file("bin/busybox", bin, 0o755)
	for _, a := range applets {
		base.symlink("bin/"+a, "busybox")
	}
	base.file("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	st.files += 2
	st.bytes += int64(len(bin))
	tars := [][]byte{base.close()}

	perLayer := (size - len(bin)) / max(layers-1, 1)
	for l := 1; l < layers; l++ {
		w := newLayer()
		top := fmt.Sprintf("usr/lib/data%d", l)
		w.dir(top)
		written := 0
		for d := 0; written < perLayer; d++ {
			sub := fmt.Sprintf("%s/d%03d", top, d)
			w.dir(sub)
			for f := 0; f < 32 && written < perLayer; f++ {
				n := fileSize(rng)
				n = min(n, perLayer-written)
				content := make([]byte, n)
				for i := 0; i+8 <= n; i += 8 {
					v := rng.Uint64()
					for j := range 8 {
						content[i+j] = byte(v >> (8 * j))
					}
				}
				w.file(fmt.Sprintf("%s/f%02d", sub, f), content, 0o644)
				written += n
				st.files++
				st.bytes += int64(n)
			}
		}
		tars = append(tars, w.close())
	}

	var ls []v1.Layer
	for _, t := range tars {
		l, err := tarball.LayerFromOpener(opener(t), tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return st, err
		}
		ls = append(ls, l)
	}
	// umoci reads OCI media types only.
	base0 := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base0, ls...)
	if err != nil {
		return st, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return st, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return st, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return st, err
	}
	return st, p.AppendImage(img, layout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: ref}))
}

// fileSize draws a file size: mostly small files, some of a few hundred
// KiB, a few of several MiB.
func fileSize(rng *rand.Rand) int {
	switch r := rng.IntN(100); {
	case r < 70:
		return 1<<10 + rng.IntN(31<<10)
	case r < 95:
		return 32<<10 + rng.IntN(480<<10)
	default:
		return 1<<20 + rng.IntN(3<<20)
	}
}

// layerWriter builds an uncompressed layer in memory.
type layerWriter struct {
	buf bytes.Buffer
	w   *tar.Writer
}

var genTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newLayer() *layerWriter {
	l := &layerWriter{}
	l.w = tar.NewWriter(&l.buf)
	return l
}

func (l *layerWriter) dir(name string) {
	l.header(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755})
}

func (l *layerWriter) symlink(name, to string) {
	l.header(&tar.Header{Name: name, Linkname: to, Typeflag: tar.TypeSymlink, Mode: 0o777})
}

func (l *layerWriter) file(name string, content []byte, mode int64) {
	l.header(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(content))})
	l.w.Write(content)
}

func (l *layerWriter) header(h *tar.Header) {
	h.ModTime = genTime
	if err := l.w.WriteHeader(h); err != nil {
		panic(err) // in-memory writes fail only on programming errors
	}
}

func (l *layerWriter) close() []byte {
	l.w.Close()
	return l.buf.Bytes()
}

// opener serves data to go-containerregistry without a temporary file.
func opener(data []byte) tarball.Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
