// Package atomicfile writes a file so that readers and crashes see the old
// content or the new, never part of it.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to path through a temp file in the same directory,
// fsynced before the rename.
func Write(path string, data []byte, mode os.FileMode) error {
	return write(path, data, mode, true)
}

// WriteUnsynced is Write without the fsync: readers, and a process killed
// meanwhile, still see the old content or the new, but after a crash of
// the host the file may be empty. It suits a file whose content a host
// crash makes moot anyway.
func WriteUnsynced(path string, data []byte, mode os.FileMode) error {
	return write(path, data, mode, false)
}

func write(path string, data []byte, mode os.FileMode, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
