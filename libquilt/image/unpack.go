package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/libquilt/image/layer"
	"github.com/quilt-runtime/quilt/spec/imageconfig"
)

// DefaultMaxSize is the default of Options.MaxSize: 64 GiB.
const DefaultMaxSize = 64 << 30

// maxUserDB bounds the size of the image's /etc/passwd and /etc/group.
const maxUserDB = 4 << 20

// Options configure Unpack.
type Options struct {
	// Image is the path of the image: an OCI image layout (directory or
	// tar), a docker-save archive, or a root filesystem tarball (tar,
	// tar.gz, tar.xz or tar.zst). The format is told from the content,
	// never from the name.
	Image string
	// Ref picks one image of a layout or archive holding several: the
	// org.opencontainers.image.ref.name annotation (or the full name in
	// io.containerd.image.name) of an OCI layout, a RepoTag of a
	// docker-save archive ("busybox" matches
	// "docker.io/library/busybox:latest"). When empty, the only image is
	// taken, else the one for Platform.
	Ref string
	// Platform picks the manifest of an index, as "os/arch[/variant]";
	// DefaultPlatform (linux and the host's architecture) when empty.
	Platform string
	// Bundle is the bundle directory to write, created if missing (its
	// parent must exist). It must not hold a config.json nor a non-empty
	// rootfs.
	Bundle string
	// Root is the store directory; DefaultRoot when empty. Layers are
	// kept in Root/image. Not used with Copy.
	Root string
	// Copy writes BUNDLE/rootfs as a plain directory instead of an overlay
	// of the store: slower, uses more disk, but needs no root and no
	// mount.
	Copy bool
	// MaxSize caps the size of the unpacked image in bytes (each entry
	// counts its size plus 512), against decompression bombs;
	// DefaultMaxSize when 0.
	MaxSize int64
	// Entrypoint and Cmd override the image's, as in imageconfig.ImageOptions:
	// nil keeps the image's, an empty Entrypoint clears it.
	Entrypoint, Cmd []string
}

// Result describes the bundle Unpack made.
type Result struct {
	// Format is the kind of image read: "OCI image layout",
	// "docker-save archive" or "rootfs tarball".
	Format string
	// Digest names the image: its manifest digest (OCI), its config
	// digest (docker-save), or the digest of the file (rootfs tarball);
	// empty for a rootfs tarball unpacked with Copy.
	Digest string
	// Layers are the diffIDs of the layers, bottom first.
	Layers []string
	// Rootfs is the bundle's root filesystem directory.
	Rootfs string
	// Overlay is true when Rootfs is an overlay mount of the store,
	// false for a plain directory (Copy).
	Overlay bool
}

// Unpack makes an OCI runtime bundle of the image o.Image in o.Bundle:
// config.json from the image configuration, and rootfs, an overlay of the
// store or, with o.Copy, a plain directory. From the store it is Import
// followed by BundleFromStored, so the image stays in the store with a
// record. On error it leaves the bundle as it found it.
func Unpack(ctx context.Context, o Options) (*Result, error) {
	if o.Image == "" || o.Bundle == "" {
		return nil, errors.New("unpack: image and bundle are required")
	}
	if !o.Copy && os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	b, err := prepareBundle(o.Bundle, !o.Copy)
	if err != nil {
		return nil, err
	}
	defer b.unlock()
	var r *Result
	if o.Copy {
		r, err = b.unpackCopy(ctx, o)
	} else {
		r, err = b.unpackStored(ctx, o)
	}
	if err != nil {
		b.rollback()
		return nil, err
	}
	return r, nil
}

// unpackStored imports the image into the store and mounts it on the
// bundle's rootfs.
func (b *bundle) unpackStored(ctx context.Context, o Options) (*Result, error) {
	st, err := openStore(o.Root)
	if err != nil {
		return nil, err
	}
	s, err := st.importImage(ctx, ImportOptions{Image: o.Image, Ref: o.Ref, Platform: o.Platform, MaxSize: o.MaxSize})
	if err != nil {
		return nil, err
	}
	return st.bundle(b, s, BundleOptions{Entrypoint: o.Entrypoint, Cmd: o.Cmd})
}

// unpackCopy applies the layers of the image to a plain rootfs directory.
func (b *bundle) unpackCopy(ctx context.Context, o Options) (*Result, error) {
	src, limit, err := openImage(o.Image, o.Ref, o.Platform, os.TempDir(), o.MaxSize)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if err := b.extract(ctx, src, limit); err != nil {
		return nil, err
	}
	if err := b.writeConfig(src.config, o.Entrypoint, o.Cmd); err != nil {
		return nil, err
	}
	r := &Result{Format: src.format.String(), Rootfs: b.rootfs()}
	if src.id.Hex != "" {
		r.Digest = src.id.String()
	}
	for _, l := range src.layers {
		r.Layers = append(r.Layers, l.diffID.String())
	}
	return r, nil
}

// openImage opens the image at p (see openSource) and returns it with
// the size budget of its layers: maxSize bytes, DefaultMaxSize when 0.
func openImage(p, ref, platform, tmp string, maxSize int64) (*source, *layer.Limit, error) {
	if maxSize == 0 {
		maxSize = DefaultMaxSize
	}
	src, err := openSource(p, ref, platform, tmp, maxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("open image %s: %w", p, err)
	}
	return src, layer.NewLimit(maxSize), nil
}

// writeConfig writes the bundle's config.json, made from the image
// configuration img, the overrides entrypoint and cmd, and the image's own
// user database.
func (b *bundle) writeConfig(img ocispec.Image, entrypoint, cmd []string) error {
	passwd, err := readInRoot(b.rootfs(), "/etc/passwd")
	if err != nil {
		return err
	}
	group, err := readInRoot(b.rootfs(), "/etc/group")
	if err != nil {
		return err
	}
	s, err := imageconfig.FromImage(img, imageconfig.ImageOptions{
		Entrypoint: entrypoint, Cmd: cmd, Passwd: passwd, Group: group,
	})
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	p := filepath.Join(b.dir, "config.json")
	if err := writeFileNew(p, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	b.made = append(b.made, p)
	return nil
}

// readInRoot reads the file name of the root filesystem root, resolving
// it inside root (an image's /etc/passwd may be a symlink to anywhere).
// A missing file, or one that is not a regular file, reads as nil.
func readInRoot(root, name string) ([]byte, error) {
	h, err := pathrs.OpenInRoot(root, name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", name, err)
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil
	}
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUserDB+1))
	if err != nil {
		return nil, fmt.Errorf("read %s in rootfs: %w", name, err)
	}
	if len(data) > maxUserDB {
		return nil, fmt.Errorf("%s in rootfs: over %d bytes: %w", name, maxUserDB, ErrTooLarge)
	}
	return data, nil
}
