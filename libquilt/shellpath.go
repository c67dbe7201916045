package libquilt

import (
	"fmt"
	"os"
	"path/filepath"
)

// LibexecDir is where `make install` puts Quilt's helper binaries.
const LibexecDir = "/usr/local/libexec/quilt"

// DefaultShellPath is where `make install` puts quilt-sh, the static shell
// that nixfix provides to containers.
const DefaultShellPath = LibexecDir + "/quilt-sh"

// LibexecBinary finds the helper binary name: next to the running
// executable (a build tree or a test's temp dir, whose helpers belong to
// the same build), else in LibexecDir.
func LibexecBinary(name string) (string, error) {
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), name))
	}
	candidates = append(candidates, filepath.Join(LibexecDir, name))
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed: not next to %s nor in %s (make install)", name, filepath.Base(os.Args[0]), LibexecDir)
}

// shellBinary returns the quilt-sh binary to copy into a container's state
// directory: Options.Shell when set, else the installed or adjacent one.
func (r *Runtime) shellBinary() (string, error) {
	if r.shell != "" {
		return checkShell(r.shell)
	}
	p, err := LibexecBinary("quilt-sh")
	if err != nil {
		return "", fmt.Errorf("%w: %w (set --quilt-sh or QUILT_SH)", ErrNoShell, err)
	}
	return p, nil
}

// checkShell accepts an existing regular file.
func checkShell(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoShell, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s is not a regular file", ErrNoShell, p)
	}
	return p, nil
}
