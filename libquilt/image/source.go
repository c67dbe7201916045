package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// format is the kind of an image source, told from its content.
type format int

const (
	formatRootfs format = iota // a root filesystem tarball
	formatOCI                  // an OCI image layout, directory or tar
	formatDocker               // a docker-save archive
)

func (f format) String() string {
	return [...]string{"rootfs tarball", "OCI image layout", "docker-save archive"}[f]
}

// maxMetadata bounds the size of the JSON documents of an image (index,
// manifests, configuration), which are read into memory.
const maxMetadata = 8 << 20

// source is an image opened for unpacking.
type source struct {
	format format
	// id names the image: the digest of its manifest (OCI), of its
	// configuration (docker-save), or of the file (rootfs tarball, set by
	// the store when it needs it).
	id     v1.Hash
	config ocispec.Image
	layers []blob
	// closer releases what opening took (a decompressed copy of the
	// archive); it may be nil.
	closer func()
}

func (s *source) close() {
	if s.closer != nil {
		s.closer()
	}
}

// blob is one layer of an image, as stored in its source.
type blob struct {
	// diffID is the digest of the uncompressed layer; zero when the
	// source does not give it (a rootfs tarball).
	diffID v1.Hash
	// digest and size are those of the blob as stored; zero digest and
	// size -1 when the source does not give them (docker-save).
	digest v1.Hash
	size   int64
	name   string // for messages
	open   func() (io.ReadCloser, error)
}

// openSource opens the image at p, detecting its format from its content.
// tmp is where a compressed archive is decompressed to, up to maxSize
// bytes.
func openSource(p, ref, platform, tmp string, maxSize int64) (*source, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, ocispec.ImageLayoutFile)); err != nil {
			return nil, fmt.Errorf("directory without %s: %w", ocispec.ImageLayoutFile, ErrUnknownFormat)
		}
		lp, err := layout.FromPath(p)
		if err != nil {
			return nil, fmt.Errorf("open image layout: %w", err)
		}
		index, err := readLimited(os.Open(filepath.Join(p, "index.json")))
		if err != nil {
			return nil, fmt.Errorf("read index.json: %w", err)
		}
		return openOCI(lp, index, ref, platform)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kind, c, err := sniff(f, fi.Size(), maxSize)
	if err != nil {
		return nil, err
	}
	if kind == formatRootfs {
		if ref != "" {
			return nil, fmt.Errorf("reference %q: a root filesystem tarball has no references: %w", ref, ErrNotFound)
		}
		return &source{format: formatRootfs, layers: []blob{{
			size: fi.Size(), name: filepath.Base(p),
			open: func() (io.ReadCloser, error) { return os.Open(p) },
		}}}, nil
	}
	archive, cleanup := p, func() {}
	if c != uncompressed {
		if archive, err = decompressTo(f, tmp, maxSize); err != nil {
			return nil, fmt.Errorf("decompress archive: %w", err)
		}
		cleanup = func() { os.Remove(archive) }
	}
	open := func() (io.ReadCloser, error) { return os.Open(archive) }
	var s *source
	if kind == formatOCI {
		var index []byte
		if index, err = readLimited(tarMember(open, "index.json")); err == nil {
			s, err = openOCI(tarLayout{open}, index, ref, platform)
		}
	} else {
		s, err = openDocker(open, ref)
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	s.closer = cleanup
	return s, nil
}

// sniff tells the format of the tar file f (maybe compressed), and its
// compression. An archive (OCI layout or docker-save) holds only the names
// those formats use and their markers; the first other name makes it a
// root filesystem.
func sniff(f *os.File, size, maxSize int64) (format, compression, error) {
	if size == 0 {
		return 0, 0, fmt.Errorf("empty file: %w", ErrUnknownFormat)
	}
	head := make([]byte, 6)
	n, _ := f.ReadAt(head, 0)
	c := compressionOf(head[:n])
	var r io.Reader = f // uncompressed: tar skips file contents by seeking
	if c != uncompressed {
		d, release, err := decompress(f)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: %w", ErrUnknownFormat, err)
		}
		defer release()
		r = &limitReader{r: d, left: maxSize}
	}
	tr := tar.NewReader(r)
	var hasLayout, hasIndex, hasManifest bool
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && i == 0 {
			return 0, 0, fmt.Errorf("not a tar archive: %w: %w", ErrUnknownFormat, err)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read tar: %w: %w", ErrCorrupt, err)
		}
		switch n := memberName(hdr.Name); {
		case n == ocispec.ImageLayoutFile:
			hasLayout = true
		case n == "index.json":
			hasIndex = true
		case n == "manifest.json":
			hasManifest = true
		case !archiveName(n):
			return formatRootfs, c, nil
		}
	}
	switch {
	case hasLayout && hasIndex:
		return formatOCI, c, nil
	case hasManifest:
		return formatDocker, c, nil
	}
	return formatRootfs, c, nil
}

func compressionOf(head []byte) compression {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.c
		}
	}
	return uncompressed
}

// memberName is the name of a tar member relative to the archive's top.
func memberName(name string) string {
	return path.Clean("/" + name)[1:]
}

// archiveName reports whether n is a name an OCI layout or docker-save
// archive holds: blobs/..., repositories, or the docker-save names built
// on a digest: <hex>/layer.tar, <hex>.json, <hex>.tar.gz, sha256:<hex>.
func archiveName(n string) bool {
	first, _, _ := strings.Cut(n, "/")
	if n == "" || first == "blobs" || n == "repositories" {
		return true
	}
	first = strings.TrimPrefix(first, "sha256:")
	first, _, _ = strings.Cut(first, ".")
	_, err := hex.DecodeString(first)
	return err == nil && len(first) == 64
}

// decompressTo writes the decompressed content of f, at most maxSize
// bytes, to a new file in dir and returns its path.
func decompressTo(f *os.File, dir string, maxSize int64) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	d, release, err := decompress(f)
	if err != nil {
		return "", err
	}
	defer release()
	out, err := os.CreateTemp(dir, "archive-*.tar")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, &limitReader{r: d, left: maxSize})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// limitReader fails with ErrTooLarge once more than left bytes are read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("decompressed archive: %w", ErrTooLarge)
	}
	return n, err
}

// tarMember opens the member name of the tar archive open returns,
// following links between members.
func tarMember(open func() (io.ReadCloser, error), name string) (io.ReadCloser, error) {
	want := memberName(name)
	for range 8 {
		f, err := open()
		if err != nil {
			return nil, err
		}
		tr := tar.NewReader(f)
		var link string
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				f.Close()
				return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("read tar: %w: %w", ErrCorrupt, err)
			}
			if memberName(hdr.Name) != want {
				continue
			}
			switch hdr.Typeflag {
			case tar.TypeSymlink:
				link = memberName(path.Join(path.Dir(want), hdr.Linkname))
			case tar.TypeLink:
				link = memberName(hdr.Linkname)
			case tar.TypeReg, tar.TypeRegA:
				return struct {
					io.Reader
					io.Closer
				}{tr, f}, nil
			default:
				f.Close()
				return nil, fmt.Errorf("%s: not a file: %w", name, ErrCorrupt)
			}
			break
		}
		f.Close()
		want = link
	}
	return nil, fmt.Errorf("%s: too many links: %w", name, ErrCorrupt)
}

// tarLayout reads the blobs of an OCI image layout stored as a tar.
type tarLayout struct {
	open func() (io.ReadCloser, error)
}

func (t tarLayout) Blob(h v1.Hash) (io.ReadCloser, error) {
	return tarMember(t.open, path.Join("blobs", h.Algorithm, h.Hex))
}

// readLimited reads a metadata document, refusing one over maxMetadata.
func readLimited(rc io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMetadata+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetadata {
		return nil, fmt.Errorf("over %d bytes: %w", maxMetadata, ErrTooLarge)
	}
	return b, nil
}

// readBlob reads the metadata blob d describes and checks its size and
// digest.
func readBlob(l blobReader, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxMetadata {
		return nil, fmt.Errorf("blob %s: %d bytes: %w", d.Digest, d.Size, ErrTooLarge)
	}
	b, err := readLimited(l.Blob(d.Digest))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if err := verify(d.Digest, b); err != nil {
		return nil, err
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s: %d bytes, descriptor says %d: %w", d.Digest, len(b), d.Size, ErrDigest)
	}
	return b, nil
}

// verify checks that b has digest d.
func verify(d v1.Hash, b []byte) error {
	if d.Algorithm != "sha256" {
		return fmt.Errorf("digest %s: unsupported algorithm: %w", d, ErrDigest)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != d.Hex {
		return fmt.Errorf("blob %s: content has sha256:%s: %w", d, got, ErrDigest)
	}
	return nil
}
