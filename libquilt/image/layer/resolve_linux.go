package layer

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxCachedDirs bounds the directory descriptors kept open between entries.
const maxCachedDirs = 64

// resolveFlags keep every lookup inside the root: absolute symlinks and ".."
// are taken relative to it and /proc magic links are refused.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// cleanName turns a tar name into a path relative to the root, "" for the
// root itself. Leading slashes are dropped (the name is taken inside the
// root); a name that climbs above the root with ".." is refused.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", ErrUnsafePath
	}
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", ErrUnsafePath
	}
	if p == "." {
		return "", nil
	}
	return p, nil
}

// splitName splits a cleaned name into its parent ("" for the root) and
// its last component.
func splitName(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// openInRoot opens name below the directory rootFd, resolving every
// component (symlinks included) inside it.
func openInRoot(rootFd int, name string, flags uint64) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolveFlags}
	for range 16 {
		fd, err := unix.Openat2(rootFd, name, &how)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return fd, err
	}
	return -1, unix.EAGAIN
}

// dirs resolves and caches the directories entries are written into.
type dirs struct {
	rootFd int
	cache  map[string]int
	// stale holds descriptors dropped from the cache during an entry,
	// which may still be in use until the entry is done.
	stale []int
	// made, when not nil, is called for each directory open creates, with
	// the descriptor of its parent.
	made func(parentFd int, base, p string) error
}

func newDirs(rootFd int) *dirs {
	return &dirs{rootFd: rootFd, cache: make(map[string]int)}
}

// open returns a descriptor of directory p, resolved inside the root and
// created (with its missing parents, mode 0755) when mkdir is set. The
// descriptor belongs to the cache: callers must not close it.
func (d *dirs) open(p string, mkdir bool) (int, error) {
	if p == "" {
		return d.rootFd, nil
	}
	if fd, ok := d.cache[p]; ok {
		return fd, nil
	}
	fd, err := openInRoot(d.rootFd, p, unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, unix.ENOENT) && mkdir {
		parent, base := splitName(p)
		pfd, perr := d.open(parent, true)
		if perr != nil {
			return -1, perr
		}
		merr := unix.Mkdirat(pfd, base, 0o755)
		if merr == nil && d.made != nil {
			merr = d.made(pfd, base, p)
		}
		if merr != nil && !errors.Is(merr, unix.EEXIST) {
			return -1, fmt.Errorf("create directory %s: %w", p, merr)
		}
		fd, err = openInRoot(d.rootFd, p, unix.O_RDONLY|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			// p exists and still cannot be opened: a symlink to nowhere.
			return -1, fmt.Errorf("open directory %s: symlink to a missing directory: %w", p, ErrNotDir)
		}
	}
	if errors.Is(err, unix.ENOTDIR) {
		return -1, fmt.Errorf("open directory %s: %w", p, ErrNotDir)
	}
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", p, err)
	}
	d.cache[p] = fd
	return fd, nil
}

// invalidate empties the cache: it is called whenever something is
// removed, since a cached directory may be the one that went away. The
// descriptors stay open until the entry is done.
func (d *dirs) invalidate() {
	for p, fd := range d.cache {
		d.stale = append(d.stale, fd)
		delete(d.cache, p)
	}
}

// endEntry closes the descriptors invalidated during an entry and keeps
// the cache under its bound.
func (d *dirs) endEntry() {
	for _, fd := range d.stale {
		unix.Close(fd)
	}
	d.stale = d.stale[:0]
	if len(d.cache) >= maxCachedDirs {
		d.flush()
	}
}

// flush closes every descriptor.
func (d *dirs) flush() {
	d.invalidate()
	d.endEntry()
}
