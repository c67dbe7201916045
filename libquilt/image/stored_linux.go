package image

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/sys/mountinfo"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Stored is the record of an image in the store, ROOT/image/images/<hex
// of ID>.json: what BundleFromStored needs to make a bundle of it without
// the image file.
type Stored struct {
	// ID names the image, "sha256:<hex>": the digest of its manifest
	// (OCI layout), of its configuration (docker-save archive) or of the
	// file (rootfs tarball), as Result.Digest.
	ID string `json:"id"`
	// Names are the absolute paths the image was imported from, and what
	// AddName added, oldest first.
	Names []string `json:"names,omitempty"`
	// Format is the kind of image it was imported from, as Result.Format.
	Format string `json:"format"`
	// Layers are the diffIDs of its layers, bottom first.
	Layers []string `json:"layers"`
	// Size is the size of its unpacked layers in bytes: the sizes of
	// their regular files and symlinks, a layer shared with another image
	// counted in both.
	Size int64 `json:"size"`
	// Imported is when the image was first imported.
	Imported time.Time `json:"imported"`
	// Config is the image configuration, zero for a rootfs tarball.
	Config ocispec.Image `json:"config"`
}

// parseID returns the digest an image id names: "sha256:<hex>" or the 64
// hex digits alone.
func parseID(id string) (v1.Hash, error) {
	h := strings.TrimPrefix(id, "sha256:")
	if _, err := hex.DecodeString(h); err != nil || len(h) != 64 || strings.ToLower(h) != h {
		return v1.Hash{}, fmt.Errorf("image id %q: %w", id, ErrInvalidID)
	}
	return v1.Hash{Algorithm: "sha256", Hex: h}, nil
}

func (s *store) recordPath(id v1.Hash) string {
	return filepath.Join(s.dir, "images", id.Hex+".json")
}

// loadRecord reads the record of the image id.
func (s *store) loadRecord(id v1.Hash) (*Stored, error) {
	p := s.recordPath(id)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read image record: %w", err)
	}
	r := new(Stored)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("image record %s: %w: %w", p, ErrCorrupt, err)
	}
	if r.ID != id.String() {
		return nil, fmt.Errorf("image record %s: id %q: %w", p, r.ID, ErrCorrupt)
	}
	return r, nil
}

// saveRecord writes the record r durably; the caller holds its image's
// lock.
func (s *store) saveRecord(r *Stored) error {
	id, err := parseID(r.ID)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "\t")
	if err != nil {
		return err
	}
	if err := putFile(s.recordPath(id), append(data, '\n'), 0o600, durable); err != nil {
		return fmt.Errorf("write image record: %w", err)
	}
	return nil
}

// lockImages takes imagesLock, shared or exclusive (how), to use or change
// the image id. A store that does not exist holds no image id.
func (s *store) lockImages(how int, id v1.Hash) (unlock func(), err error) {
	unlock, err = s.lock(imagesLock, how)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", id, ErrNotExist)
	}
	return unlock, err
}

// lockImage takes the lock of the image id's record, after a shared
// imagesLock.
func (s *store) lockImage(id v1.Hash) (unlock func(), err error) {
	unlockAll, err := s.lockImages(unix.LOCK_SH, id)
	if err != nil {
		return nil, err
	}
	unlockOne, err := s.lock("image-"+id.Hex, unix.LOCK_EX)
	if err != nil {
		unlockAll()
		return nil, err
	}
	return func() { unlockOne(); unlockAll() }, nil
}

// LoadStored returns the record of the image id ("sha256:<hex>" or the hex
// alone) in the store root (DefaultRoot when empty). An id the store does
// not hold gives an error wrapping ErrNotExist.
func LoadStored(root, id string) (*Stored, error) {
	s, h, err := storeOf(root, id)
	if err != nil {
		return nil, err
	}
	return s.loadRecord(h)
}

// storeOf returns the store of root and the digest of the image id.
func storeOf(root, id string) (*store, v1.Hash, error) {
	s, err := storeAt(root)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	h, err := parseID(id)
	return s, h, err
}

// ListStored returns the records of the images in the store root
// (DefaultRoot when empty), oldest import first; none for a store that
// does not exist.
func ListStored(root string) ([]*Stored, error) {
	s, err := storeAt(root)
	if err != nil {
		return nil, err
	}
	return s.list()
}

func (s *store) list() ([]*Stored, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "images"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var all []*Stored
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue // a record being written
		}
		id, err := parseID(name)
		if err != nil {
			return nil, fmt.Errorf("image record %s: %w", e.Name(), err)
		}
		r, err := s.loadRecord(id)
		if errors.Is(err, ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b *Stored) int {
		if c := a.Imported.Compare(b.Imported); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all, nil
}

// AddName adds name to the names of the image s in the store root
// (DefaultRoot when empty), unless it has it, and saves the record. s gets
// the names the record has then.
func (s *Stored) AddName(root, name string) error {
	return s.editNames(root, func(names []string) []string {
		if slices.Contains(names, name) {
			return names
		}
		return append(names, name)
	})
}

// RemoveName takes name from the image's names, persisting the record.
func (s *Stored) RemoveName(root, name string) error {
	return s.editNames(root, func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return n == name })
	})
}

// editNames changes the names of the record under its lock.
func (s *Stored) editNames(root string, edit func([]string) []string) error {
	st, id, err := storeOf(root, s.ID)
	if err != nil {
		return err
	}
	unlock, err := st.lockImage(id)
	if err != nil {
		return err
	}
	defer unlock()
	r, err := st.loadRecord(id)
	if err != nil {
		return err
	}
	names := edit(slices.Clone(r.Names))
	if !slices.Equal(names, r.Names) {
		r.Names = names
		if err := st.saveRecord(r); err != nil {
			return err
		}
	}
	s.Names = r.Names
	return nil
}

// RemoveStored deletes the record of the image id from the store root
// (DefaultRoot when empty), then the layers no other image uses. An id
// the store does not hold gives an error wrapping ErrNotExist.
//
// The caller must not remove an image while bundles made of it are
// mounted: their overlays would lose their lower layers. RemoveStored
// refuses, with unix.EBUSY, when it sees one of the layers it would delete
// in an overlay mounted in its mount namespace, but it cannot see mounts
// made in other namespaces. It waits for imports and BundleFromStored
// calls under way, and they for it.
func RemoveStored(root, id string) error {
	s, h, err := storeOf(root, id)
	if err != nil {
		return err
	}
	unlock, err := s.lockImages(unix.LOCK_EX, h)
	if err != nil {
		return err
	}
	defer unlock()
	r, err := s.loadRecord(h)
	if err != nil {
		return err
	}
	others, err := s.list()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, o := range others {
		if o.ID != r.ID {
			for _, l := range o.Layers {
				used[l] = true
			}
		}
	}
	var drop []string
	for _, l := range r.Layers {
		if lh, err := v1.NewHash(l); err == nil && !used[l] && !slices.Contains(drop, s.layerDir(lh)) {
			drop = append(drop, s.layerDir(lh))
		}
	}
	if mnt, err := overlayUsing(drop); err != nil || mnt != "" {
		if err == nil {
			err = fmt.Errorf("remove image %s: a layer is in use by the overlay on %s: %w", h, mnt, unix.EBUSY)
		}
		return err
	}
	if err := os.Remove(s.recordPath(h)); err != nil {
		return fmt.Errorf("remove image record: %w", err)
	}
	if err := syncDir(filepath.Dir(s.recordPath(h))); err != nil {
		return fmt.Errorf("remove image record: %w", err)
	}
	if r.Format == formatRootfs.String() {
		os.Remove(s.rootfsRecord(h))
	}
	for _, d := range drop {
		if err := s.removeLayer(d); err != nil {
			return fmt.Errorf("remove layer %s: %w", filepath.Base(d), err)
		}
	}
	return nil
}

// removeLayer deletes the layer directory dir: it is renamed into tmp/
// first, so that a crash leaves no half layer in layers/.
func (s *store) removeLayer(dir string) error {
	gone, err := os.MkdirTemp(s.tmp(), filepath.Base(dir)+"-*")
	if err != nil {
		return err
	}
	// rename(2) replaces the empty directory gone.
	if err := unix.Rename(dir, gone); err != nil {
		os.Remove(gone)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	return os.RemoveAll(gone)
}

// overlayUsing returns the mount point of an overlay mounted with one of
// dirs as a lower directory, "" when there is none.
func overlayUsing(dirs []string) (string, error) {
	if len(dirs) == 0 {
		return "", nil
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("overlay"))
	if err != nil {
		return "", err
	}
	for _, m := range mounts {
		for opt := range strings.SplitSeq(m.VFSOptions, ",") {
			k, v, _ := strings.Cut(opt, "=")
			if k != "lowerdir" && k != "lowerdir+" {
				continue
			}
			for d := range strings.SplitSeq(v, ":") {
				if slices.Contains(dirs, d) {
					return m.Mountpoint, nil
				}
			}
		}
	}
	return "", nil
}

// unpackedSize returns the size of the unpacked layers dirs: the sizes of
// their regular files and symlinks.
func unpackedSize(dirs []string) (int64, error) {
	var n int64
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(_ string, e fs.DirEntry, err error) error {
			if err != nil || !(e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0) {
				return err
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("size of layer %s: %w", filepath.Base(d), err)
		}
	}
	return n, nil
}
