package layer

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// removeAt removes name, a single component below the directory dirFd,
// and everything under it. Nothing is followed: a symlink is removed, never
// its target. A missing name is not an error.
func removeAt(dirFd int, name string) error {
	err := unix.Unlinkat(dirFd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	if err := clearDir(dirFd, name, nil); err != nil {
		return err
	}
	err = unix.Unlinkat(dirFd, name, unix.AT_REMOVEDIR)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// clearDir removes the children of the directory name below dirFd for
// which keep (when not nil) returns false. keep is given the child's name.
func clearDir(dirFd int, name string, keep func(child string) bool) error {
	fd, err := unix.Openat(dirFd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	// Read every name before removing any, so that removal cannot make the
	// directory listing skip entries.
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if keep != nil && keep(n) {
			continue
		}
		if err := removeAt(fd, n); err != nil {
			return err
		}
	}
	return nil
}
