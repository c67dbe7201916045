package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/libquilt/image/layer"
)

// DefaultRoot is the directory of the store when Options.Root is empty.
const DefaultRoot = "/var/lib/quilt"

// store keeps unpacked layers under ROOT/image, one directory per layer
// named by its diffID, shared by every image and bundle using it:
//
//	layers/sha256/<hex>   an unpacked layer, with overlayfs whiteouts
//	images/<hex>.json     the record of an imported image (Stored)
//	rootfs/sha256/<hex>   the diffID a rootfs tarball of that digest gave
//	locks/images.lock     flock(2) shared by imports and bundles, taken
//	                      alone by RemoveStored
//	locks/<key>.lock      flock(2) held while a layer is unpacked or an
//	                      image record changed
//	tmp/                  layers being unpacked, renamed into layers/,
//	                      and removed layers on their way out
//
// A layer is unpacked in tmp/ and renamed into place when complete, so a
// crash leaves no half layer in layers/; whoever next takes the layer's
// lock removes the leftovers. Locks are taken in the order images.lock,
// an image's lock, a layer's lock.
type store struct {
	dir string
}

// imagesLock is the lock that keeps RemoveStored away from the layers
// imports and bundles use.
const imagesLock = "images"

// storeAt returns the store of root (DefaultRoot when empty) without
// creating it.
func storeAt(root string) (*store, error) {
	if root == "" {
		root = DefaultRoot
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(root, ":,") {
		return nil, fmt.Errorf("store %s: overlay mounts cannot name a path with ':' or ',': %w", root, ErrInvalidPath)
	}
	return &store{dir: filepath.Join(root, "image")}, nil
}

// openStore returns the store of root, creating its directories.
func openStore(root string) (*store, error) {
	s, err := storeAt(root)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"layers/sha256", "images", "rootfs/sha256", "locks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("create store: %w", err)
		}
	}
	return s, nil
}

func (s *store) tmp() string { return filepath.Join(s.dir, "tmp") }

func (s *store) layerDir(h v1.Hash) string {
	return filepath.Join(s.dir, "layers", h.Algorithm, h.Hex)
}

// lock takes the store's lock named key, shared (how is unix.LOCK_SH) or
// exclusive (unix.LOCK_EX), waiting for whoever holds it.
func (s *store) lock(key string, how int) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "locks", key+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return func() { f.Close() }, nil
}

// layers makes sure every layer of src is in the store, reporting to m.
// Missing layers are unpacked in parallel; a layer with a hard link into
// a lower layer is unpacked again once the layers below it are there.
// The caller holds imagesLock.
func (s *store) layers(ctx context.Context, src *source, limit *layer.Limit, m *meter) error {
	if src.format == formatRootfs {
		b, read := m.watchLayer(src.layers[0], 0)
		if err := s.rootfsDiffID(ctx, src, b, limit); err != nil {
			return err
		}
		m.layerDone(0, src.layers[0], read.Load())
		return nil
	}
	dirs := make([]string, len(src.layers))
	errs := make([]error, len(src.layers))
	watched := make([]blob, len(src.layers))
	reads := make([]*atomic.Int64, len(src.layers))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range src.layers {
		dirs[i] = s.layerDir(src.layers[i].diffID)
		watched[i], reads[i] = m.watchLayer(src.layers[i], i)
		if exists(dirs[i]) {
			m.layerDone(i, src.layers[i], 0)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if errs[i] = s.unpackLayer(ctx, watched[i], nil, limit); errs[i] == nil {
				m.layerDone(i, src.layers[i], reads[i].Load())
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if errors.Is(err, layer.ErrLinkTarget) {
			if err = s.unpackLayer(ctx, watched[i], reversed(dirs[:i]), limit); err == nil {
				m.layerDone(i, src.layers[i], reads[i].Load())
			}
		}
		if err != nil {
			return fmt.Errorf("extract layer %s: %w", src.layers[i].name, err)
		}
	}
	return nil
}

// unpackLayer unpacks b into the store unless it is there already.
func (s *store) unpackLayer(ctx context.Context, b blob, lower []string, limit *layer.Limit) error {
	key := b.diffID
	unlock, err := s.lock(key.Algorithm+"-"+key.Hex, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	final := s.layerDir(key)
	if exists(final) {
		return nil // unpacked while we waited for the lock
	}
	tmp, err := s.mkTemp(key.Hex)
	if err != nil {
		return err
	}
	if _, err := extractBlob(ctx, b, tmp, layer.Options{Overlay: true, Lower: lower, Limit: limit}); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return s.commit(tmp, final)
}

// rootfsDiffID sets the layer diffID of a rootfs tarball, whose format does
// not give it, unpacking the tarball through b (src.layers[0] as the
// caller watches it) unless it is there: the diffID is recorded the first
// time the file of digest src.id is unpacked.
func (s *store) rootfsDiffID(ctx context.Context, src *source, b blob, limit *layer.Limit) error {
	id := src.id
	record := s.rootfsRecord(id)
	var err error
	if src.layers[0].diffID, err = readRecordedDiffID(record); err == nil && exists(s.layerDir(src.layers[0].diffID)) {
		return nil
	}
	unlock, err := s.lock("rootfs-"+id.Hex, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	if src.layers[0].diffID, err = readRecordedDiffID(record); err == nil && exists(s.layerDir(src.layers[0].diffID)) {
		return nil
	}
	tmp, err := s.mkTemp(id.Hex)
	if err != nil {
		return err
	}
	diffID, err := extractBlob(ctx, b, tmp, layer.Options{Overlay: true, Limit: limit})
	if err == nil {
		err = s.commit(tmp, s.layerDir(diffID))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("extract %s: %w", b.name, err)
	}
	src.layers[0].diffID = diffID
	return writeFileAtomic(record, []byte(diffID.String()))
}

// rootfsRecord is the file that records the diffID of the rootfs tarball
// of digest id.
func (s *store) rootfsRecord(id v1.Hash) string {
	return filepath.Join(s.dir, "rootfs", id.Algorithm, id.Hex)
}

func readRecordedDiffID(p string) (v1.Hash, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return v1.Hash{}, err
	}
	return v1.NewHash(strings.TrimSpace(string(b)))
}

// mkTemp makes a directory in tmp/ for unpacking the layer key, after
// removing what an earlier, interrupted unpack of it left (the caller
// holds its lock).
func (s *store) mkTemp(key string) (string, error) {
	old, _ := filepath.Glob(filepath.Join(s.tmp(), key+"-*"))
	for _, o := range old {
		os.RemoveAll(o)
	}
	tmp, err := os.MkdirTemp(s.tmp(), key+"-*")
	if err != nil {
		return "", err
	}
	// The layer's root keeps this mode unless the layer lists "./".
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// commit renames the unpacked layer tmp to final; when another import of
// the same content got there first, tmp is dropped.
func (s *store) commit(tmp, final string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, final, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return os.RemoveAll(tmp)
	}
	if err != nil {
		return fmt.Errorf("commit layer %s: %w", filepath.Base(final), err)
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// reversed returns a reversed copy of s.
func reversed(s []string) []string {
	r := make([]string, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}
