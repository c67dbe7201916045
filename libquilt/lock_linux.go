package libquilt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockDir is the directory under the root that holds one lock file per
// container. It starts with a dot so that listings skip it.
const lockDir = ".locks"

// containerLock is an exclusive flock(2) on root/.locks/<id>, held across
// processes for the duration of one operation.
type containerLock struct {
	f    *os.File
	path string
}

// lockContainer blocks until this process holds id's lock. A lock file is
// removed by the operation that deletes the container; a waiter that then
// wakes on the unlinked file notices and locks the new one.
func lockContainer(root, id string) (*containerLock, error) {
	dir := filepath.Join(root, lockDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	path := filepath.Join(dir, id)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock container %s: %w", id, err)
		}
		if err := flock(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock container %s: %w", id, err)
		}
		var held, now unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &held); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock container %s: %w", id, err)
		}
		if err := unix.Stat(path, &now); err == nil && now.Ino == held.Ino && now.Dev == held.Dev {
			return &containerLock{f: f, path: path}, nil
		}
		f.Close() // the file was removed while we waited: take the new one
	}
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// unlock releases the lock; with remove it also deletes the lock file, as
// the container it guarded no longer exists.
func (l *containerLock) unlock(remove bool) {
	if remove {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close()
}
