package integration

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/ulikunitz/xz"
)

// The image fixtures are written here, in Go, from the host's static
// busybox: no registry, no image tool. The OCI layouts and docker-save
// archives are laid out by hand rather than by the library the unpacker
// reads them with, so that the two do not share a mistake.

// fixtureTime is the modification time of every fixture entry.
var fixtureTime = time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)

// entry is one entry of a fixture layer.
type entry struct {
	name     string
	typ      byte
	mode     int64
	body     []byte
	link     string
	uid, gid int
}

func dirEntry(name string, mode int64) entry {
	return entry{name: name, typ: tar.TypeDir, mode: mode}
}

func fileEntry(name, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: 0o644, body: []byte(body)}
}

// whiteout deletes name of the layers below; opaque hides everything
// below in dir.
func whiteout(dir, name string) entry { return fileEntry(dir+"/.wh."+name, "") }
func opaque(dir string) entry         { return fileEntry(dir+"/.wh..wh..opq", "") }

// layerTar returns entries as an uncompressed tar.
func layerTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	data, err := tarOf(entries)
	if err != nil {
		t.Fatalf("fixture tar: %v", err)
	}
	return data
}

func tarOf(entries []entry) ([]byte, error) {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link,
			Uid: e.uid, Gid: e.gid, ModTime: fixtureTime,
		}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := w.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := w.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var (
	baseOnce  sync.Once
	baseTar   []byte
	baseError error
)

// baseLayer is the root filesystem every fixture starts from: busybox and
// its applets in /bin, a user database (root; app 1000:1000; svc
// 2000:2000), the images' working directories, and /etc/fixture.
func baseLayer(t *testing.T) []byte {
	t.Helper()
	baseOnce.Do(func() {
		bin, err := os.ReadFile(busyboxBin)
		if err != nil {
			baseError = err
			return
		}
		entries := []entry{
			dirEntry("bin", 0o755), dirEntry("dev", 0o755), dirEntry("etc", 0o755),
			dirEntry("home", 0o755), {name: "home/svc", typ: tar.TypeDir, mode: 0o750, uid: 2000, gid: 2000},
			dirEntry("proc", 0o755), dirEntry("root", 0o700), dirEntry("srv", 0o755),
			dirEntry("srv/oci-dir", 0o755), dirEntry("srv/oci-tar", 0o755),
			dirEntry("sys", 0o755), dirEntry("tmp", 0o1777),
			{name: "bin/busybox", typ: tar.TypeReg, mode: 0o755, body: bin},
			fileEntry("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/srv:/bin/sh\nsvc:x:2000:2000:svc:/home/svc:/bin/sh\n"),
			fileEntry("etc/group", "root:x:0:\napp:x:1000:\nsvc:x:2000:\n"),
			fileEntry("etc/fixture", "rootfs\n"),
		}
		for _, a := range applets {
			if a != "busybox" {
				entries = append(entries, entry{name: "bin/" + a, typ: tar.TypeSymlink, mode: 0o777, link: "busybox"})
			}
		}
		baseTar, baseError = tarOf(entries)
	})
	if baseError != nil {
		t.Fatalf("fixture base layer: %v", baseError)
	}
	return baseTar
}

// compress returns data compressed as kind: "" (none), "gz", "xz" or
// "zst".
func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "":
		return data
	case "gz":
		w, err = gzip.NewWriterLevel(&b, gzip.BestSpeed)
	case "xz":
		w, err = xz.NewWriter(&b)
	case "zst":
		w, err = zstd.NewWriter(&b, zstd.WithEncoderLevel(zstd.SpeedFastest))
	default:
		t.Fatalf("fixture compression %q", kind)
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

// fixtureImage is an image to write in one of the formats.
type fixtureImage struct {
	config v1.Config
	layers [][]byte // uncompressed, bottom first
}

// configBlob is the image configuration of img, for this host's platform.
func (img fixtureImage) configBlob(t *testing.T) []byte {
	t.Helper()
	cf := v1.ConfigFile{
		Architecture: runtime.GOARCH, OS: "linux", Created: v1.Time{Time: fixtureTime},
		Config: img.config, RootFS: v1.RootFS{Type: "layers"},
	}
	for _, l := range img.layers {
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, sha256Of(t, l))
	}
	data, err := json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sha256Of(t *testing.T, data []byte) v1.Hash {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// writeBlob stores data in the layout dir and describes it.
func writeBlob(t *testing.T, dir string, mt types.MediaType, data []byte) v1.Descriptor {
	t.Helper()
	h := sha256Of(t, data)
	p := filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(data)), Digest: h}
}

// writeOCILayout writes img as an OCI image layout in dir, its layers
// compressed as kind ("gz" or "zst"), its manifest named ref.
func writeOCILayout(t *testing.T, dir, ref string, img fixtureImage, kind string) string {
	t.Helper()
	mt := map[string]types.MediaType{"gz": types.OCILayer, "zst": types.OCILayerZStd}[kind]
	if mt == "" {
		t.Fatalf("OCI layer compression %q", kind)
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        writeBlob(t, dir, types.OCIConfigJSON, img.configBlob(t)),
	}
	for _, l := range img.layers {
		m.Layers = append(m.Layers, writeBlob(t, dir, mt, compress(t, kind, l)))
	}
	md := writeBlob(t, dir, types.OCIManifestSchema1, mustJSON(t, m))
	md.Annotations = map[string]string{ocispec.AnnotationRefName: ref}
	md.Platform = &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{md}}
	writeFile(t, filepath.Join(dir, "index.json"), mustJSON(t, idx))
	writeFile(t, filepath.Join(dir, ocispec.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	return dir
}

// writeDockerSave writes img as a docker-save archive at p, tagged tag,
// with uncompressed layers as `docker save` writes them.
func writeDockerSave(t *testing.T, p, tag string, img fixtureImage) string {
	t.Helper()
	cfg := img.configBlob(t)
	d := tarball.Descriptor{Config: sha256Of(t, cfg).Hex + ".json", RepoTags: []string{tag}}
	files := []entry{{name: d.Config, typ: tar.TypeReg, mode: 0o644, body: cfg}}
	for _, l := range img.layers {
		dir := sha256Of(t, l).Hex
		d.Layers = append(d.Layers, dir+"/layer.tar")
		files = append(files, dirEntry(dir, 0o755), entry{name: dir + "/layer.tar", typ: tar.TypeReg, mode: 0o644, body: l})
	}
	files = append(files, entry{name: "manifest.json", typ: tar.TypeReg, mode: 0o644, body: mustJSON(t, tarball.Manifest{d})})
	writeFile(t, p, layerTar(t, files...))
	return p
}

// tarTree writes the tree under dir as an uncompressed tar at p.
func tarTree(t *testing.T, dir, p string) string {
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

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
