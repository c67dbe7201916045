package layer

import "errors"

var (
	// ErrUnsafePath is returned for an entry or hard link name that climbs
	// out of the root with "..", or that holds a NUL byte.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrDevice is returned for a device node when the caller is not root.
	ErrDevice = errors.New("device node needs root")
	// ErrTooLarge is returned when the layer goes over its size limit.
	ErrTooLarge = errors.New("size limit exceeded")
	// ErrUnsupported is returned for a tar entry type that a layer cannot hold.
	ErrUnsupported = errors.New("unsupported entry type")
	// ErrNotDir is returned when an entry's parent exists and is not a
	// directory.
	ErrNotDir = errors.New("parent is not a directory")
	// ErrLinkTarget is returned for a hard link whose target does not exist.
	ErrLinkTarget = errors.New("hard link target not found")
)
