package image

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// How putFile writes a file.
const (
	// noReplace fails with EEXIST rather than replace a file.
	noReplace = 1 << iota
	// durable fsyncs the file before the rename and its directory after,
	// so that the file survives a crash once putFile returns.
	durable
)

// putFile writes b to p through a temporary file in p's directory and a
// rename, so that p is either absent, its old content or b, never part of
// b. how holds noReplace and durable.
func putFile(p string, b []byte, mode os.FileMode, how int) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil && how&durable != 0 {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		flags := uint(0)
		if how&noReplace != 0 {
			flags = unix.RENAME_NOREPLACE
		}
		err = unix.Renameat2(unix.AT_FDCWD, f.Name(), unix.AT_FDCWD, p, flags)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if how&durable != 0 {
		return syncDir(filepath.Dir(p))
	}
	return nil
}

// writeFileAtomic writes b to p (mode 0600), replacing what p held.
func writeFileAtomic(p string, b []byte) error { return putFile(p, b, 0o600, 0) }

// writeFileNew writes b to p, which must not exist yet: it fails with
// EEXIST rather than replace a file.
func writeFileNew(p string, b []byte, mode os.FileMode) error {
	return putFile(p, b, mode, noReplace)
}

// syncDir fsyncs the directory dir, making the renames and removals in it
// durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// syncFS flushes the filesystem that holds dir to disk (syncfs(2)).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
