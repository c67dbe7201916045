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
//	rootfs/sha256/<hex>   the diffID a rootfs tarball of that digest gave
//	locks/<key>.lock      flock(2) held while a layer is unpacked
//	tmp/                  layers being unpacked, renamed into layers/
//
// A layer is unpacked in tmp/ and renamed into place when complete, so a
// crash leaves no half layer in layers/; whoever next takes the layer's
// lock removes the leftovers.
type store struct {
	dir string
}

func openStore(root string) (*store, error) {
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
	s := &store{dir: filepath.Join(root, "image")}
	for _, d := range []string{"layers/sha256", "rootfs/sha256", "locks", "tmp"} {
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

// lock takes the store's lock named key, waiting for whoever holds it.
func (s *store) lock(key string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "locks", key+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
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

// layers makes sure every layer of src is in the store and returns their
// directories, topmost first as overlayfs lists them. Missing layers are
// unpacked in parallel; a layer with a hard link into a lower layer is
// unpacked again once the layers below it are there.
func (s *store) layers(ctx context.Context, src *source, limit *layer.Limit) ([]string, error) {
	if src.format == formatRootfs {
		if err := s.rootfsDiffID(ctx, src, limit); err != nil {
			return nil, err
		}
	}
	dirs := make([]string, len(src.layers))
	errs := make([]error, len(src.layers))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, b := range src.layers {
		dirs[i] = s.layerDir(b.diffID)
		if exists(dirs[i]) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = s.unpackLayer(ctx, b, nil, limit)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if errors.Is(err, layer.ErrLinkTarget) {
			lower := reversed(dirs[:i])
			err = s.unpackLayer(ctx, src.layers[i], lower, limit)
		}
		if err != nil {
			return nil, fmt.Errorf("extract layer %s: %w", src.layers[i].name, err)
		}
	}
	return reversed(dirs), nil
}

// unpackLayer unpacks b into the store unless it is there already.
func (s *store) unpackLayer(ctx context.Context, b blob, lower []string, limit *layer.Limit) error {
	key := b.diffID
	unlock, err := s.lock(key.Algorithm + "-" + key.Hex)
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

// rootfsDiffID sets the id and the layer diffID of a rootfs tarball, whose
// format gives neither: the id is the file's digest and the diffID is
// recorded the first time it is unpacked.
func (s *store) rootfsDiffID(ctx context.Context, src *source, limit *layer.Limit) error {
	b := &src.layers[0]
	id, err := hashFile(b.open)
	if err != nil {
		return fmt.Errorf("hash %s: %w", b.name, err)
	}
	src.id, b.digest = id, id
	record := filepath.Join(s.dir, "rootfs", id.Algorithm, id.Hex)
	if b.diffID, err = readRecordedDiffID(record); err == nil && exists(s.layerDir(b.diffID)) {
		return nil
	}
	unlock, err := s.lock("rootfs-" + id.Hex)
	if err != nil {
		return err
	}
	defer unlock()
	if b.diffID, err = readRecordedDiffID(record); err == nil && exists(s.layerDir(b.diffID)) {
		return nil
	}
	tmp, err := s.mkTemp(id.Hex)
	if err != nil {
		return err
	}
	diffID, err := extractBlob(ctx, *b, tmp, layer.Options{Overlay: true, Limit: limit})
	if err == nil {
		err = s.commit(tmp, s.layerDir(diffID))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("extract %s: %w", b.name, err)
	}
	b.diffID = diffID
	return writeFileAtomic(record, []byte(diffID.String()))
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
