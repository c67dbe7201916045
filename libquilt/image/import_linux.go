package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Image, Ref and Platform name the image as in Options: a path to an
	// OCI image layout (directory or tar), a docker-save archive or a
	// root filesystem tarball, maybe compressed.
	Image, Ref, Platform string
	// Root is the store directory; DefaultRoot when empty.
	Root string
	// MaxSize caps the size of the unpacked layers as in Options;
	// DefaultMaxSize when 0.
	MaxSize int64
	// Progress, when not nil, is told how the import goes: while each
	// layer is read, at most about ten times a second, at the end of each
	// layer, and last with PhaseDone. Layers are unpacked in parallel, so
	// their reports interleave; calls are made one at a time, from the
	// goroutines that unpack, which wait for the call to return.
	Progress func(Progress)
}

// Import puts the image o.Image into the store o.Root: its layers, shared
// by diffID with the images already there, and its record
// (ROOT/image/images/<hex>.json) that BundleFromStored makes bundles of.
// Importing an image the store holds reads its metadata (and hashes a
// rootfs tarball), adds the path to the record's Names when it is new,
// and returns the record. Import needs root.
func Import(ctx context.Context, o ImportOptions) (*Stored, error) {
	if o.Image == "" {
		return nil, errors.New("import: image is required")
	}
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	s, err := openStore(o.Root)
	if err != nil {
		return nil, err
	}
	return s.importImage(ctx, o)
}

func (s *store) importImage(ctx context.Context, o ImportOptions) (*Stored, error) {
	name, err := filepath.Abs(o.Image)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock(imagesLock, unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m := newMeter(o.Progress)
	m.report(Progress{Phase: PhaseReading})
	src, limit, err := openImage(o.Image, o.Ref, o.Platform, s.tmp(), o.MaxSize)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if src.format == formatRootfs {
		// The file's digest names the image.
		b := &src.layers[0]
		open := m.watch(b.open, Progress{Phase: PhaseReading, Total: b.size}, new(atomic.Int64))
		if src.id, err = hashFile(open); err != nil {
			return nil, fmt.Errorf("hash %s: %w", b.name, err)
		}
		b.digest = src.id
	}
	m.setLayers(len(src.layers))
	if err := s.layers(ctx, src, limit, m); err != nil {
		return nil, err
	}
	r, err := s.record(src, name)
	if err != nil {
		return nil, err
	}
	m.done()
	return r, nil
}

// record returns the record of the image src, whose layers are in the
// store, adding name to it; it writes a new record for a new image.
func (s *store) record(src *source, name string) (*Stored, error) {
	unlock, err := s.lock("image-"+src.id.Hex, unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := s.loadRecord(src.id)
	switch {
	case err == nil:
		if slices.Contains(r.Names, name) {
			return r, nil
		}
		r.Names = append(r.Names, name)
	case errors.Is(err, ErrNotExist):
		r = &Stored{
			ID: src.id.String(), Names: []string{name}, Format: src.format.String(),
			Layers: []string{}, Imported: time.Now().UTC(), Config: src.config,
		}
		dirs := make([]string, len(src.layers))
		for i, l := range src.layers {
			r.Layers = append(r.Layers, l.diffID.String())
			dirs[i] = s.layerDir(l.diffID)
		}
		if r.Size, err = unpackedSize(dirs); err != nil {
			return nil, err
		}
		// A record on disk promises its layers are there after a crash.
		if err := syncFS(s.dir); err != nil {
			return nil, fmt.Errorf("sync store: %w", err)
		}
	default:
		return nil, err
	}
	if err := s.saveRecord(r); err != nil {
		return nil, err
	}
	return r, nil
}

// BundleOptions configure BundleFromStored.
type BundleOptions struct {
	// Bundle is the bundle directory to write, as in Options.
	Bundle string
	// Entrypoint and Cmd override the image's, as in Options.
	Entrypoint, Cmd []string
	// Volatile mounts the overlay with overlayfs's volatile option: its
	// writable layer is never synced to disk, not even when it is
	// unmounted (which otherwise syncs the whole filesystem the layer is
	// on). After a crash of the host the overlay cannot be mounted again;
	// for a container that ends with the host, as quiltd's do, that costs
	// nothing. Linux 5.10 or later.
	Volatile bool
}

// BundleFromStored makes an OCI runtime bundle of the stored image s in
// o.Bundle, as Unpack does from the store: config.json from the image
// configuration, and rootfs, an overlay of the image's layers in the
// store root (DefaultRoot when empty) with a writable layer of its own.
// On error it leaves the bundle as it found it. It needs root, and may be
// called concurrently for different bundles and with Import. An image
// removed from the store gives an error wrapping ErrNotExist.
func BundleFromStored(ctx context.Context, root string, s *Stored, o BundleOptions) (*Result, error) {
	if o.Bundle == "" || s == nil {
		return nil, errors.New("bundle: stored image and bundle are required")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	st, err := storeAt(root)
	if err != nil {
		return nil, err
	}
	b, err := prepareBundle(o.Bundle, true)
	if err != nil {
		return nil, err
	}
	defer b.unlock()
	r, err := st.bundle(b, s, o)
	if err != nil {
		b.rollback()
		return nil, err
	}
	return r, nil
}

// bundle mounts the rootfs of the stored image r in the prepared bundle b
// and writes its config.json.
func (s *store) bundle(b *bundle, r *Stored, o BundleOptions) (*Result, error) {
	id, err := parseID(r.ID)
	if err != nil {
		return nil, err
	}
	lower := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		h, err := v1.NewHash(l)
		if err != nil {
			return nil, fmt.Errorf("image %s: layer %q: %w", r.ID, l, ErrCorrupt)
		}
		lower[len(lower)-1-i] = s.layerDir(h) // topmost first
	}
	unlock, err := s.lockImages(unix.LOCK_SH, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !exists(s.recordPath(id)) {
		return nil, fmt.Errorf("image %s: %w", r.ID, ErrNotExist)
	}
	for i, d := range lower {
		if !exists(d) {
			return nil, fmt.Errorf("image %s: layer %s missing from the store: %w", r.ID, r.Layers[len(lower)-1-i], ErrCorrupt)
		}
	}
	if err := b.mount(r.ID, lower, o.Volatile); err != nil {
		return nil, err
	}
	if err := b.writeConfig(r.Config, o.Entrypoint, o.Cmd); err != nil {
		return nil, err
	}
	return &Result{Format: r.Format, Digest: r.ID, Layers: slices.Clone(r.Layers), Rootfs: b.rootfs(), Overlay: true}, nil
}
