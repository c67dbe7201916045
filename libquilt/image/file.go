package image

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// writeFileAtomic writes b to p through a temporary file and a rename, so
// that p is either absent, its old content or b, never part of b.
func writeFileAtomic(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// writeFileNew is writeFileAtomic for a file that must not exist yet: it
// fails with EEXIST rather than replace one.
func writeFileNew(p string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat2(unix.AT_FDCWD, f.Name(), unix.AT_FDCWD, p, unix.RENAME_NOREPLACE)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
