package libquilt

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultShellPath is where `make install` puts quilt-sh, the static shell
// that nixfix provides to containers.
const DefaultShellPath = "/usr/local/libexec/quilt/quilt-sh"

// shellBinary returns the quilt-sh binary to copy into a container's state
// directory: Options.Shell when set, else DefaultShellPath, else quilt-sh
// next to the running executable (a build tree or a test's temp dir).
func (r *Runtime) shellBinary() (string, error) {
	if r.shell != "" {
		return checkShell(r.shell)
	}
	candidates := []string{DefaultShellPath}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "quilt-sh"))
	}
	for _, p := range candidates {
		if p, err := checkShell(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: not at %s nor next to quilt (set --quilt-sh or QUILT_SH)", ErrNoShell, DefaultShellPath)
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
