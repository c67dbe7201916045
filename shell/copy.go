package shell

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// copyOptions are cp's options.
type copyOptions struct {
	recursive bool // -R, -r, -a: copy directories and their contents
	deref     bool // follow symlinks given as operands (cp without -R/-P)
	derefAll  bool // -L: follow every symlink, also inside directories
	preserve  bool // -p, -a: mode, ownership and times
	force     bool // -f: replace a destination that cannot be opened
}

// cp [-RrapPLfv] source... dest
func cp(c *call, args []string) error {
	o, ops, err := getopt(args, "RrapPLdfv", "")
	if err != nil {
		return err
	}
	if len(ops) < 2 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	opts := copyOptions{
		recursive: o.has('R') || o.has('r') || o.has('a'),
		preserve:  o.has('p') || o.has('a'),
		force:     o.has('f'),
	}
	noDeref := o.has('P') || o.has('d') || o.has('a')
	opts.derefAll = o.has('L')
	opts.deref = opts.derefAll || (!opts.recursive && !noDeref)
	return copyOperands(c, ops, func(src, dst string) error {
		return copyTree(c, src, dst, opts)
	})
}

// mv [-fnv] source... dest
func mv(c *call, args []string) error {
	o, ops, err := getopt(args, "fniv", "")
	if err != nil {
		return err
	}
	if len(ops) < 2 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	return copyOperands(c, ops, func(src, dst string) error {
		if o.has('n') {
			if _, err := os.Lstat(dst); err == nil {
				return nil
			}
		}
		err := os.Rename(src, dst)
		if !errors.Is(err, syscall.EXDEV) {
			return err
		}
		// Another filesystem: copy everything as it is, then remove.
		if err := copyTree(c, src, dst, copyOptions{recursive: true, preserve: true, force: true}); err != nil {
			return err
		}
		return os.RemoveAll(src)
	})
}

// copyOperands maps cp's and mv's operands to (source, destination)
// pairs: into dest when it is a directory, else onto dest.
func copyOperands(c *call, ops []string, each func(src, dst string) error) error {
	dest := c.path(ops[len(ops)-1])
	srcs := ops[:len(ops)-1]
	intoDir := isDir(dest, true)
	if len(srcs) > 1 && !intoDir {
		return fmt.Errorf("target '%s' is not a directory", ops[len(ops)-1])
	}
	for _, s := range srcs {
		src := c.path(s)
		dst := dest
		if intoDir {
			dst = filepath.Join(dest, filepath.Base(src))
		}
		if src == dst || within(dst, src) {
			c.warnf("cannot copy or move '%s' into itself, '%s'", s, dst)
			continue
		}
		if err := each(src, dst); err != nil {
			c.warn(err)
		}
	}
	return nil
}

// within reports whether p is strictly inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../")
}

// copyTree copies src to dst, recursively when asked.
func copyTree(c *call, src, dst string, o copyOptions) error {
	stat := os.Lstat
	if o.deref {
		stat = os.Stat
	}
	fi, err := stat(src)
	if err != nil {
		return err
	}
	if dfi, err := os.Stat(dst); err == nil && os.SameFile(fi, dfi) {
		return fmt.Errorf("'%s' and '%s' are the same file", src, dst)
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		if !o.recursive {
			return fmt.Errorf("-r not specified; omitting directory '%s'", src)
		}
		return copyDir(c, src, dst, fi, o)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case mode.IsRegular():
		if err := copyFile(src, dst, fi, o); err != nil {
			return err
		}
	case o.recursive && mode&(fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice) != 0:
		st, _ := fi.Sys().(*syscall.Stat_t)
		if st == nil {
			return fmt.Errorf("%s: cannot read file type", src)
		}
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return &fs.PathError{Op: "mknod", Path: dst, Err: err}
		}
	default:
		return fmt.Errorf("%s: cannot copy file of type %s", src, fi.Mode().Type())
	}
	if o.preserve {
		return preserve(dst, fi)
	}
	return nil
}

func copyDir(c *call, src, dst string, fi fs.FileInfo, o copyOptions) error {
	if err := os.Mkdir(dst, 0o700); err != nil && !(errors.Is(err, fs.ErrExist) && isDir(dst, true)) {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	// Below the operands, symlinks are copied as links unless -L.
	inner := o
	inner.deref = o.derefAll
	for _, e := range entries {
		if err := copyTree(c, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), inner); err != nil {
			c.warn(err)
		}
	}
	if o.preserve {
		return nil // copyTree applies mode, owner and times after this
	}
	return os.Chmod(dst, fileMode(permBits(fi.Mode())&^currentUmask()))
}

func copyFile(src, dst string, fi fs.FileInfo, o copyOptions) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	perm := fi.Mode().Perm()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil && o.force {
		if rerr := os.Remove(dst); rerr == nil {
			out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		}
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// preserve gives dst the mode, owner and times of fi. Changing the owner
// needs privilege, so EPERM there is ignored, as cp -p does.
func preserve(dst string, fi fs.FileInfo) error {
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st != nil {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, syscall.EPERM) {
			return err
		}
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if err := os.Chmod(dst, fileMode(permBits(fi.Mode()))); err != nil {
			return err
		}
	}
	if st != nil {
		ts := []unix.Timespec{unix.Timespec(st.Atim), unix.Timespec(st.Mtim)}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "utimes", Path: dst, Err: err}
		}
	}
	return nil
}
