package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/quilt-runtime/quilt/libquilt/image"
)

// imageStore is the daemon's view of libquilt/image's stored images. mu
// guards the cache of records; imports of different files run in
// parallel, imports of one file are made once.
type imageStore struct {
	root string

	mu      sync.Mutex
	loaded  bool
	byID    map[string]*image.Stored
	pending map[string]*importCall // by absolute source path
}

type importCall struct {
	done chan struct{}
	img  *image.Stored
	err  error
}

func newImageStore(root string) *imageStore {
	return &imageStore{root: root, byID: map[string]*image.Stored{}, pending: map[string]*importCall{}}
}

// load reads the records once; mu must be held.
func (s *imageStore) load() error {
	if s.loaded {
		return nil
	}
	list, err := image.ListStored(s.root)
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	for _, img := range list {
		s.byID[img.ID] = img
	}
	s.loaded = true
	return nil
}

// list returns the stored images.
func (s *imageStore) list() ([]*image.Stored, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	out := make([]*image.Stored, 0, len(s.byID))
	for _, img := range s.byID {
		out = append(out, img)
	}
	return out, nil
}

// resolve finds an image by id ("sha256:..." or its hex), unique id
// prefix, name or imported path.
func (s *imageStore) resolve(ref string) (*image.Stored, error) {
	if ref == "" {
		return nil, errorf(ErrInvalid, "no image given")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	if img, ok := s.byID[ref]; ok {
		return img, nil
	}
	if img, ok := s.byID["sha256:"+ref]; ok {
		return img, nil
	}
	abs, _ := filepath.Abs(ref)
	var byPrefix []*image.Stored
	for _, img := range s.byID {
		for _, n := range img.Names {
			if n == ref || n == abs || n == ref+":latest" {
				return img, nil
			}
		}
		hex := strings.TrimPrefix(img.ID, "sha256:")
		if len(ref) >= 4 && strings.HasPrefix(hex, strings.TrimPrefix(ref, "sha256:")) {
			byPrefix = append(byPrefix, img)
		}
	}
	switch len(byPrefix) {
	case 0:
		return nil, errorf(ErrNotFound, "no such image: %s (import it first, or give --image-path)", ref)
	case 1:
		return byPrefix[0], nil
	}
	return nil, errorf(ErrInvalid, "image id prefix %q is ambiguous: give more of the id", ref)
}

// importImage imports the image at path, or returns the record of an
// earlier import of it. Concurrent imports of one path share one import.
func (s *imageStore) importImage(ctx context.Context, path, ref, name string, progress func(image.Progress)) (*image.Stored, bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, errorf(ErrInvalid, "image path %q: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, errorf(ErrNotFound, "image path %s does not exist", abs)
		}
		return nil, false, errorf(ErrInvalid, "image path %s: %w", abs, err)
	}
	if name != "" {
		if err := validateImageName(name); err != nil {
			return nil, false, err
		}
	}
	key := abs + "\x00" + ref
	s.mu.Lock()
	if call, ok := s.pending[key]; ok {
		s.mu.Unlock()
		<-call.done
		if call.err == nil && name != "" {
			return call.img, false, s.addName(call.img, name)
		}
		return call.img, false, call.err
	}
	call := &importCall{done: make(chan struct{})}
	s.pending[key] = call
	s.mu.Unlock()

	img, err := image.Import(ctx, image.ImportOptions{Image: abs, Ref: ref, Root: s.root, Progress: progress})
	if err != nil {
		switch {
		case errors.Is(err, image.ErrUnknownFormat):
			err = errorf(ErrInvalid, "image %s: %w", abs, err)
		default:
			err = fmt.Errorf("import %s: %w", abs, err)
		}
	}
	s.mu.Lock()
	known := false
	if err == nil {
		_, known = s.byID[img.ID]
		s.byID[img.ID] = img
	}
	call.img, call.err = img, err
	delete(s.pending, key)
	close(call.done)
	s.mu.Unlock()
	if err == nil && name != "" {
		err = s.addName(img, name)
	}
	return img, err == nil && !known, err
}

func (s *imageStore) addName(img *image.Stored, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A name belongs to one image: take it from any other.
	for _, other := range s.byID {
		if other.ID == img.ID {
			continue
		}
		for _, n := range other.Names {
			if n == name {
				if err := other.RemoveName(s.root, name); err != nil {
					return fmt.Errorf("image %s: %w", other.ID, err)
				}
			}
		}
	}
	if err := img.AddName(s.root, name); err != nil {
		return fmt.Errorf("image %s: %w", img.ID, err)
	}
	return nil
}

// remove deletes an image's record and layers.
func (s *imageStore) remove(img *image.Stored) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := image.RemoveStored(s.root, img.ID); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove image %s: %w", img.ID, err)
	}
	delete(s.byID, img.ID)
	return nil
}

// validateImageName checks a name given at import: a reference such as
// "name", "name:tag" or "registry/name:tag".
func validateImageName(name string) error {
	if len(name) > 255 || strings.ContainsAny(name, " \t\n\x00@") || strings.HasPrefix(name, "sha256:") {
		return errorf(ErrInvalid, "invalid image name %q: use letters, digits and . _ - / : (no spaces, no @, not an id)", name)
	}
	return nil
}

// importedAt is used by the API: the record's import time.
func importedAt(img *image.Stored) time.Time { return img.Imported }
