package nixfix

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ShellBinary is the private copy of quilt-sh that is bind-mounted into
// containers (SEC-8): a root-owned, mode-0555 file under the runtime state
// directory, never the installed binary itself.
type ShellBinary struct {
	// Path is the host path of the copy, e.g. <state>/quilt-sh.
	Path string
	// SHA256 is its expected hex digest, checked before each use.
	SHA256 string
}

// InstallShell copies the quilt-sh binary src to dst (temp file, fsync,
// rename), mode 0555, and returns it with its digest.
func InstallShell(src, dst string) (ShellBinary, error) {
	in, err := os.Open(src)
	if err != nil {
		return ShellBinary{}, fmt.Errorf("shell binary %s: %w", src, err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".quilt-sh-*")
	if err != nil {
		return ShellBinary{}, fmt.Errorf("shell copy %s: %w", dst, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Chmod(0o555)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return ShellBinary{}, fmt.Errorf("shell copy %s: %w", dst, err)
	}
	return ShellBinary{Path: dst, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Verify checks that the copy is a regular file (not a symlink), neither
// setuid nor setgid (SEC-7), and has the expected digest.
func (s ShellBinary) Verify() error {
	f, err := s.open()
	if err != nil {
		return err
	}
	return f.Close()
}

// open opens the copy for reading after the checks of Verify.
func (s ShellBinary) open() (*os.File, error) {
	if s.Path == "" || s.SHA256 == "" {
		return nil, fmt.Errorf("shell binary: no path or digest: %w", ErrShellBinary)
	}
	fd, err := unix.Open(s.Path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("shell binary %s: %w: %w", s.Path, ErrShellBinary, err)
	}
	f := os.NewFile(uintptr(fd), s.Path)
	fail := func(why string) (*os.File, error) {
		f.Close()
		return nil, fmt.Errorf("shell binary %s: %s: %w", s.Path, why, ErrShellBinary)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail(err.Error())
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fail("not a regular file")
	}
	if st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		return fail("setuid or setgid")
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fail(err.Error())
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 {
		return fail("sha256 " + got + ", want " + s.SHA256)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err.Error())
	}
	return f, nil
}

// ShellMount returns the bind mount quilt appends to the container config
// when the rootfs holds the /.quilt/bin/sh mount point (R-0.2, SEC-6 to
// SEC-8). It checks the mount point with MountPoint and verifies the shell
// copy. It returns ErrNotProvisioned when there is no mount point. The
// runtime still opens the target O_PATH|O_NOFOLLOW when it mounts, as runc
// does for every mount.
func ShellMount(rootfs string, sh ShellBinary) (specs.Mount, error) {
	if err := MountPoint(rootfs); err != nil {
		return specs.Mount{}, err
	}
	if err := sh.Verify(); err != nil {
		return specs.Mount{}, err
	}
	return specs.Mount{
		Destination: shellPlaceholder,
		Type:        "bind",
		Source:      sh.Path,
		Options:     []string{"bind", "ro", "nosuid", "nodev"},
	}, nil
}

// MountPoint checks, without following symlinks, that /.quilt and
// /.quilt/bin are real directories and /.quilt/bin/sh a regular file
// (SEC-6). It returns ErrNotProvisioned when there is no mount point, and
// costs one openat2 and one fstatat, so that a runtime can ask before it
// has the shell copy that ShellMount verifies.
func MountPoint(rootfs string) error {
	r, err := openRoot(rootfs)
	if err != nil {
		return err
	}
	defer r.close()
	st, err := r.lstat(shellPlaceholder)
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("rootfs %s: %w", rootfs, ErrNotProvisioned)
	case err != nil:
		return fmt.Errorf("mount point %s: %w", shellPlaceholder, err)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("mount point %s: not a regular file: %w", shellPlaceholder, ErrUnsafePath)
	}
	return nil
}
