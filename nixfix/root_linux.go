package nixfix

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// rootDir is an open root filesystem. Every lookup and write is relative to
// its fd; the host path is used only to open it and in messages.
type rootDir struct {
	fd   int
	dev  uint64
	host string
}

// openRoot opens the rootfs directory. The path itself comes from the
// caller (bundle config or command line), not from the image.
func openRoot(host string) (*rootDir, error) {
	fd, err := unix.Open(host, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("rootfs %s: %w: %w", host, ErrRootfs, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("rootfs %s: %w: %w", host, ErrRootfs, err)
	}
	return &rootDir{fd: fd, dev: st.Dev, host: host}, nil
}

func (r *rootDir) close() { unix.Close(r.fd) }

// lock takes the exclusive repair lock on the rootfs fd.
func (r *rootDir) lock() error {
	if err := unix.Flock(r.fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock rootfs %s: %w", r.host, err)
	}
	return nil
}

// lstat stats an in-root path without following its last component; every
// parent must be a real directory (no symlink anywhere).
func (r *rootDir) lstat(p string) (unix.Stat_t, error) {
	var st unix.Stat_t
	dir, name := path.Split(path.Clean("/" + p))
	if name == "" {
		err := unix.Fstat(r.fd, &st)
		return st, err
	}
	dfd, err := r.openDir(dir)
	if err != nil {
		return st, err
	}
	defer unix.Close(dfd)
	err = unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// readlink reads the target of the symlink p, whose parents must be real
// directories.
func (r *rootDir) readlink(p string) (string, error) {
	dir, name := path.Split(path.Clean("/" + p))
	dfd, err := r.openDir(dir)
	if err != nil {
		return "", err
	}
	defer unix.Close(dfd)
	return readlinkat(dfd, name)
}

// openDir opens the in-root directory p as an O_PATH fd, refusing symlinks
// in any component and mount crossings (SEC-2). A symlink or non-directory
// on the way gives ErrUnsafePath; a missing component gives ENOENT.
func (r *rootDir) openDir(p string) (int, error) {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return unix.Dup(r.fd)
	}
	fd, err := unix.Openat2(r.fd, p, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ENOSYS):
		return r.openDirWalk(p)
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EXDEV):
		return -1, fmt.Errorf("%s: %w: %w", "/"+p, ErrUnsafePath, err)
	}
	return -1, err
}

// openDirWalk is openDir for kernels without openat2: one component at a
// time, O_NOFOLLOW, with a device check.
func (r *rootDir) openDirWalk(p string) (int, error) {
	fd, err := unix.Dup(r.fd)
	if err != nil {
		return -1, err
	}
	for _, c := range strings.Split(p, "/") {
		next, err := unix.Openat(fd, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return -1, fmt.Errorf("%s: %w: %w", "/"+p, ErrUnsafePath, err)
		}
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			return -1, err
		}
		if st.Dev != r.dev {
			unix.Close(next)
			return -1, fmt.Errorf("%s: %w: %w", "/"+p, ErrUnsafePath, unix.EXDEV)
		}
		fd = next
	}
	return fd, nil
}

// readlinkat reads a symlink's target relative to dirfd; with name "" it
// reads the link that dirfd itself (O_PATH|O_NOFOLLOW) refers to.
func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size >= unix.PathMax {
			return "", unix.ENAMETOOLONG
		}
	}
}

// readDirNames lists the directory fd (an O_PATH fd is reopened for
// reading through openat "."), sorted.
func readDirNames(dirfd int) ([]string, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sortStrings(names)
	return names, nil
}
