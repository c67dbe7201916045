package image

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/quilt-runtime/quilt/libquilt/image/layer"
)

var (
	// ErrUnknownFormat is returned for an image that is neither an OCI
	// image layout, a docker-save archive nor a root filesystem tarball.
	ErrUnknownFormat = errors.New("unknown image format")
	// ErrUnknownMediaType is returned for a manifest, config or layer of a
	// media type Quilt cannot unpack.
	ErrUnknownMediaType = errors.New("unknown media type")
	// ErrNotFound is returned when no image of a layout or archive matches
	// the reference or platform asked for.
	ErrNotFound = errors.New("image not found")
	// ErrAmbiguous is returned when a layout or archive holds several
	// images and nothing says which one to take.
	ErrAmbiguous = errors.New("several images: give a reference")
	// ErrDigest is returned when content does not match its digest or size.
	ErrDigest = errors.New("digest mismatch")
	// ErrCorrupt is returned for an image whose metadata is malformed.
	ErrCorrupt = errors.New("corrupt image")
	// ErrBundleExists is returned when the bundle already has a
	// config.json or a non-empty rootfs.
	ErrBundleExists = errors.New("bundle already exists")
	// ErrNotBundle is returned by Remove and Mount for a directory that
	// Unpack did not make.
	ErrNotBundle = errors.New("not an unpacked bundle")
	// ErrNeedRoot is returned when the store (overlay mounts) is used
	// without root; Options.Copy works without it.
	ErrNeedRoot = errors.New("overlay store needs root (use copy mode)")
	// ErrInvalidPath is returned for a store or bundle path that an
	// overlay mount cannot name (holding ':' or ',').
	ErrInvalidPath = errors.New("invalid path")
	// ErrNotExist is returned for an image id the store holds no record
	// of. It wraps fs.ErrNotExist.
	ErrNotExist = fmt.Errorf("image not in store: %w", fs.ErrNotExist)
	// ErrInvalidID is returned for an image id that is neither
	// "sha256:<64 hex digits>" nor the 64 hex digits alone.
	ErrInvalidID = errors.New("invalid image id")
	// ErrTooLarge is returned when the image goes over Options.MaxSize.
	ErrTooLarge = layer.ErrTooLarge
)
