package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Whiteout names, as the OCI layer format defines them.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// Overlayfs xattrs: opaque marks a directory whose lower content is
// hidden. Image entries may not set any xattr in these namespaces, which
// would steer the overlay mount.
const (
	overlayOpaque   = "trusted.overlay.opaque"
	overlayTrusted  = "trusted.overlay."
	overlayUserAttr = "user.overlay."
)

// copyBufferSize is the size of the buffer file contents go through.
const copyBufferSize = 1 << 20

// Options configure Extract.
type Options struct {
	// Overlay writes whiteouts as overlayfs whiteouts (a 0/0 character
	// device for a removed path, the trusted.overlay.opaque xattr for an
	// opaque directory) instead of applying them, so that the directory can
	// be one lowerdir of an overlay mount. It needs root.
	Overlay bool
	// Lower are the directories of the layers below this one, topmost
	// first, used with Overlay: a hard link whose target is not in this
	// layer becomes a copy of the target found there.
	Lower []string
	// Limit, when not nil, is the size budget the layer draws from.
	Limit *Limit
	// Unprivileged extracts as a caller without root: owners are left as
	// they are, device nodes are refused with ErrDevice and directories
	// keep their owner's rwx bits so that later layers can write into
	// them. It is implied when the effective user is not root.
	Unprivileged bool
}

// Extract applies the layer read from r, an uncompressed tar stream, to the
// directory dir. It reads r up to the end of the archive, not beyond. On
// error, dir holds whatever was written so far: callers extract into a
// directory of their own and remove it.
func Extract(dir string, r io.Reader, o Options) error {
	rootFd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open root %s: %w", dir, err)
	}
	x := &extractor{
		o:       o,
		root:    !o.Unprivileged && unix.Geteuid() == 0,
		rootFd:  rootFd,
		dirs:    newDirs(rootFd),
		created: make(map[string]bool),
		dirMeta: make(map[string]*tar.Header),
		buf:     make([]byte, copyBufferSize),
	}
	defer x.close()
	for _, l := range o.Lower {
		fd, err := unix.Open(l, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open lower layer %s: %w", l, err)
		}
		x.lowers = append(x.lowers, fd)
	}
	if len(x.lowers) > 0 {
		x.dirs.made = x.inheritDir
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		err = x.entry(hdr, tr)
		x.dirs.endEntry()
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	return x.finish()
}

type extractor struct {
	o      Options
	root   bool // owners and device nodes can be set
	rootFd int
	lowers []int
	dirs   *dirs
	// created holds the names this layer wrote, which its own whiteouts
	// leave alone.
	created map[string]bool
	// dirMeta holds the last header of each directory, whose mode and
	// times are set once everything below it is written.
	dirMeta map[string]*tar.Header
	buf     []byte
}

func (x *extractor) close() {
	x.dirs.flush()
	for _, fd := range x.lowers {
		unix.Close(fd)
	}
	unix.Close(x.rootFd)
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if hdr.Size < 0 || !x.o.Limit.take(512+hdr.Size) {
		return ErrTooLarge
	}
	dir, base := splitName(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return x.whiteout(dir, base)
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("root of type %q: %w", hdr.Typeflag, ErrUnsupported)
		}
		return x.dir("", "", "", hdr)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.dir(name, dir, base, hdr)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		return x.file(name, dir, base, hdr, tr)
	case tar.TypeSymlink:
		return x.symlink(name, dir, base, hdr)
	case tar.TypeLink:
		return x.link(name, dir, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return x.node(name, dir, base, hdr)
	case tar.TypeXGlobalHeader:
		return nil
	}
	return fmt.Errorf("type %q: %w", hdr.Typeflag, ErrUnsupported)
}

// create runs mk to create base in the directory pfd. When something is in
// the way it is removed (with everything under it) and mk runs again,
// unless keepDir is set and it is a directory.
func (x *extractor) create(pfd int, base string, keepDir bool, mk func() error) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	if keepDir {
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
	}
	x.dirs.invalidate()
	if err := removeAt(pfd, base); err != nil {
		return fmt.Errorf("replace existing entry: %w", err)
	}
	return mk()
}

func (x *extractor) dir(name, dir, base string, hdr *tar.Header) error {
	x.dirMeta[name] = hdr
	if name == "" {
		return x.setMeta(x.rootFd, hdr, false)
	}
	pfd, err := x.dirs.open(dir, true)
	if err != nil {
		return err
	}
	err = x.create(pfd, base, true, func() error { return unix.Mkdirat(pfd, base, 0o700) })
	if err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	x.created[name] = true
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer unix.Close(fd)
	return x.setMeta(fd, hdr, false)
}

func (x *extractor) file(name, dir, base string, hdr *tar.Header, tr *tar.Reader) error {
	pfd, err := x.dirs.open(dir, true)
	if err != nil {
		return err
	}
	fd := -1
	err = x.create(pfd, base, false, func() (err error) {
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	defer unix.Close(fd)
	x.created[name] = true
	if _, err := io.CopyBuffer(fdWriter(fd), tr, x.buf); err != nil {
		return fmt.Errorf("write file: %w", err)
	}
	return x.setMeta(fd, hdr, true)
}

func (x *extractor) symlink(name, dir, base string, hdr *tar.Header) error {
	pfd, err := x.dirs.open(dir, true)
	if err != nil {
		return err
	}
	err = x.create(pfd, base, false, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) })
	if err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	x.created[name] = true
	return x.setMetaAt(pfd, base, hdr, false)
}

func (x *extractor) node(name, dir, base string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if mode != unix.S_IFIFO && !x.root {
		return ErrDevice
	}
	pfd, err := x.dirs.open(dir, true)
	if err != nil {
		return err
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	err = x.create(pfd, base, false, func() error { return unix.Mknodat(pfd, base, mode|0o600, dev) })
	if err != nil {
		return fmt.Errorf("create node: %w", err)
	}
	x.created[name] = true
	return x.setMetaAt(pfd, base, hdr, true)
}

func (x *extractor) link(name, dir, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if target == name {
		return nil
	}
	if target == "" {
		return fmt.Errorf("hard link to the root: %w", ErrUnsupported)
	}
	pfd, err := x.dirs.open(dir, true)
	if err != nil {
		return err
	}
	tdir, tbase := splitName(target)
	tfd, err := x.dirs.open(tdir, false)
	if err == nil {
		err = x.create(pfd, base, false, func() error { return unix.Linkat(tfd, tbase, pfd, base, 0) })
	}
	if errors.Is(err, unix.ENOENT) && len(x.lowers) > 0 {
		err = x.copyFromLower(target, pfd, base)
	}
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s: %w", target, ErrLinkTarget)
	}
	if err != nil {
		return fmt.Errorf("create hard link to %s: %w", target, err)
	}
	x.created[name] = true
	return nil
}

// copyFromLower writes base in pfd as a copy of target from the topmost
// lower layer holding it: a hard link cannot cross layers, so the link
// becomes a copy, as an overlay copy-up would make it.
func (x *extractor) copyFromLower(target string, pfd int, base string) error {
	for _, lfd := range x.lowers {
		src, err := openInRoot(lfd, target, unix.O_RDONLY|unix.O_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			return err
		}
		defer unix.Close(src)
		var st unix.Stat_t
		if err := unix.Fstat(src, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return unix.ENOENT // a whiteout or a special file: nothing to copy
		}
		dst := -1
		err = x.create(pfd, base, false, func() (err error) {
			dst, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
			return err
		})
		if err != nil {
			return err
		}
		defer unix.Close(dst)
		if _, err := io.CopyBuffer(fdWriter(dst), fdReader(src), x.buf); err != nil {
			return err
		}
		if x.root {
			if err := unix.Fchown(dst, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if err := unix.Fchmod(dst, st.Mode&0o7777); err != nil {
			return err
		}
		return futimens(dst, []unix.Timespec{st.Atim, st.Mtim})
	}
	return unix.ENOENT
}

// inheritDir gives a directory created for an entry whose parent the
// layer does not list the owner, mode and times of the same directory in the
// topmost lower layer, as it would have after a copy-up: in an overlay, the
// topmost layer's directory decides them.
func (x *extractor) inheritDir(pfd int, base, p string) error {
	for _, lfd := range x.lowers {
		src, err := openInRoot(lfd, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		err = unix.Fstat(src, &st)
		unix.Close(src)
		if err != nil {
			return err
		}
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if x.root {
			if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if err := unix.Fchmod(fd, st.Mode&0o7777); err != nil {
			return err
		}
		return futimens(fd, []unix.Timespec{st.Atim, st.Mtim})
	}
	return nil
}

func (x *extractor) whiteout(dir, base string) error {
	pfd, err := x.dirs.open(dir, x.o.Overlay)
	if errors.Is(err, unix.ENOENT) {
		return nil // nothing below to hide
	}
	if err != nil {
		return err
	}
	if base == whiteoutOpaque {
		if x.o.Overlay {
			if err := unix.Fsetxattr(pfd, overlayOpaque, []byte("y"), 0); err != nil {
				return fmt.Errorf("mark opaque directory: %w", err)
			}
			return nil
		}
		x.dirs.invalidate()
		return x.clearLower(dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // other aufs metadata: not part of the filesystem
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return ErrUnsafePath
	}
	if x.created[path.Join(dir, target)] {
		return nil // a whiteout hides lower layers only, not its own
	}
	if x.o.Overlay {
		err := unix.Mknodat(pfd, target, unix.S_IFCHR, 0)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create whiteout: %w", err)
		}
		return nil
	}
	x.dirs.invalidate()
	if err := removeAt(pfd, target); err != nil {
		return fmt.Errorf("remove %s: %w", path.Join(dir, target), err)
	}
	return nil
}

// clearLower removes what lower layers left in dir, keeping what this
// layer wrote (and clearing lower content below the directories it kept).
func (x *extractor) clearLower(dir string) error {
	pfd, err := x.dirs.open(dir, false)
	if err != nil {
		return err
	}
	var kept []string
	err = clearDir(pfd, ".", func(child string) bool {
		p := path.Join(dir, child)
		if x.created[p] {
			kept = append(kept, p)
			return true
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("clear opaque directory %s: %w", dir, err)
	}
	for _, p := range kept {
		if x.dirMeta[p] == nil {
			continue // not a directory
		}
		if err := x.clearLower(p); err != nil {
			return err
		}
	}
	return nil
}

// setMeta sets the owner, xattrs and, with mode, permissions and times of
// the open file fd. Directories get their mode and times in finish.
func (x *extractor) setMeta(fd int, hdr *tar.Header, mode bool) error {
	if x.root {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("set owner: %w", err)
		}
	}
	if mode {
		if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
			return fmt.Errorf("set mode: %w", err)
		}
	}
	if err := x.setXattrs(fd, hdr); err != nil {
		return err
	}
	if mode {
		if err := futimens(fd, times(hdr)); err != nil {
			return fmt.Errorf("set times: %w", err)
		}
	}
	return nil
}

// setMetaAt sets the owner, times and, with mode, permissions of base in
// pfd, a symlink or a node this layer has just created.
func (x *extractor) setMetaAt(pfd int, base string, hdr *tar.Header, mode bool) error {
	if x.root {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set owner: %w", err)
		}
	}
	if mode {
		// base is the node just made, not a symlink, so fchmodat
		// (which follows symlinks) stays on it.
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode)&0o7777, 0); err != nil {
			return fmt.Errorf("set mode: %w", err)
		}
	}
	if err := unix.UtimesNanoAt(pfd, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// setXattrs sets the entry's extended attributes, skipping those the
// filesystem or the caller's privileges do not allow, and the overlayfs
// ones, which an image must not choose.
func (x *extractor) setXattrs(fd int, hdr *tar.Header) error {
	const prefix = "SCHILY.xattr."
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, prefix)
		if !ok || strings.HasPrefix(name, overlayTrusted) || strings.HasPrefix(name, overlayUserAttr) {
			continue
		}
		err := unix.Fsetxattr(fd, name, []byte(v), 0)
		switch {
		case err == nil, errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EPERM),
			errors.Is(err, unix.EACCES), errors.Is(err, unix.ERANGE), errors.Is(err, unix.E2BIG),
			errors.Is(err, unix.EINVAL):
		default:
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

// finish sets the mode and times of the directories, now that nothing more
// is written below them.
func (x *extractor) finish() error {
	names := make([]string, 0, len(x.dirMeta))
	for n := range x.dirMeta {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		hdr := x.dirMeta[n]
		fd := x.rootFd
		if n != "" {
			var err error
			fd, err = openInRoot(x.rootFd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
			if err != nil {
				continue // replaced or removed by a later entry
			}
		}
		mode := uint32(hdr.Mode) & 0o7777
		if !x.root {
			mode |= 0o700
		}
		err := unix.Fchmod(fd, mode)
		if err == nil {
			err = futimens(fd, times(hdr))
		}
		if fd != x.rootFd {
			unix.Close(fd)
		}
		if err != nil {
			return fmt.Errorf("entry %q: set directory mode and times: %w", hdr.Name, err)
		}
	}
	return nil
}

// times returns the access and modification times of an entry; the access
// time is the modification time when the archive has none.
func times(hdr *tar.Header) []unix.Timespec {
	m := unix.Timespec{Sec: hdr.ModTime.Unix(), Nsec: int64(hdr.ModTime.Nanosecond())}
	a := m
	if !hdr.AccessTime.IsZero() {
		a = unix.Timespec{Sec: hdr.AccessTime.Unix(), Nsec: int64(hdr.AccessTime.Nanosecond())}
	}
	return []unix.Timespec{a, m}
}
