package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/libquilt/image/layer"
)

// stateDir is the bundle's directory of Quilt state: the record of how
// rootfs was made and, for an overlay, its upper and work directories.
const stateDir = ".quilt"

// record is BUNDLE/.quilt/rootfs.json.
type record struct {
	// Image is the digest of the image the bundle was made from.
	Image string `json:"image,omitempty"`
	// Copy is true for a plain rootfs directory.
	Copy bool `json:"copy,omitempty"`
	// Lower, Upper and Work are the overlay's directories, Lower topmost
	// first.
	Lower []string `json:"lower,omitempty"`
	Upper string   `json:"upper,omitempty"`
	Work  string   `json:"work,omitempty"`
	// Volatile mounts the overlay with overlayfs's volatile option
	// (BundleOptions.Volatile).
	Volatile bool `json:"volatile,omitempty"`
}

// bundle is a bundle directory being made.
type bundle struct {
	dir string
	// made lists what Unpack created, undone in reverse on failure.
	made []string
	// rootfsExisted is set when an empty rootfs directory was there.
	rootfsExisted bool
	mounted       bool
	lockFile      *os.File
}

func (b *bundle) rootfs() string { return filepath.Join(b.dir, "rootfs") }
func (b *bundle) state() string  { return filepath.Join(b.dir, stateDir) }

// prepareBundle creates (when missing) and locks the bundle directory
// dir, refusing one that holds a bundle already.
func prepareBundle(dir string, overlay bool) (*bundle, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if overlay && strings.ContainsAny(dir, ":,") {
		return nil, fmt.Errorf("bundle %s: overlay mounts cannot name a path with ':' or ',': %w", dir, ErrInvalidPath)
	}
	b := &bundle{dir: dir}
	switch err := os.Mkdir(dir, 0o755); {
	case err == nil:
		b.made = append(b.made, dir)
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("create bundle: %w", err)
	}
	if b.lockFile, err = os.Open(dir); err != nil {
		b.rollback()
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if err := unix.Flock(int(b.lockFile.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b.unlock()
		b.rollback()
		return nil, fmt.Errorf("bundle %s is being unpacked by another process: %w", dir, ErrBundleExists)
	}
	if err := b.checkEmpty(); err != nil {
		b.unlock()
		b.rollback()
		return nil, err
	}
	return b, nil
}

func (b *bundle) checkEmpty() error {
	for _, name := range []string{"config.json", stateDir} {
		if _, err := os.Lstat(filepath.Join(b.dir, name)); err == nil {
			return fmt.Errorf("bundle %s has a %s: %w", b.dir, name, ErrBundleExists)
		}
	}
	fi, err := os.Lstat(b.rootfs())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("bundle %s: rootfs is not a directory: %w", b.dir, ErrBundleExists)
	}
	f, err := os.Open(b.rootfs())
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); !errors.Is(err, io.EOF) {
		return fmt.Errorf("bundle %s: rootfs is not empty: %w", b.dir, ErrBundleExists)
	}
	b.rootfsExisted = true
	return nil
}

func (b *bundle) unlock() {
	if b.lockFile != nil {
		b.lockFile.Close()
		b.lockFile = nil
	}
}

// rollback undoes what Unpack made, newest first.
func (b *bundle) rollback() {
	if b.mounted {
		if unix.Unmount(b.rootfs(), 0) != nil {
			unix.Unmount(b.rootfs(), unix.MNT_DETACH)
		}
		b.mounted = false
	}
	for i := len(b.made) - 1; i >= 0; i-- {
		p := b.made[i]
		if p == b.dir {
			os.Remove(p) // empty by now
			continue
		}
		os.RemoveAll(p)
	}
	if b.rootfsExisted && !exists(b.rootfs()) {
		os.Mkdir(b.rootfs(), 0o755)
	}
	b.made = nil
}

// extract applies the layers of src, bottom first, to a new directory
// that becomes the bundle's rootfs once complete.
func (b *bundle) extract(ctx context.Context, src *source, limit *layer.Limit) error {
	tmp, err := os.MkdirTemp(b.dir, ".rootfs-*")
	if err != nil {
		return fmt.Errorf("create rootfs: %w", err)
	}
	b.made = append(b.made, tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for i := range src.layers {
		l := &src.layers[i]
		diffID, err := extractBlob(ctx, *l, tmp, layer.Options{Limit: limit})
		if err != nil {
			return fmt.Errorf("extract layer %s: %w", l.name, err)
		}
		l.diffID = diffID
	}
	// rename(2) replaces an empty directory (os.Rename refuses to).
	if err := unix.Rename(tmp, b.rootfs()); err != nil {
		return fmt.Errorf("create rootfs: %w", err)
	}
	b.made[len(b.made)-1] = b.rootfs()
	return b.writeRecord(record{Copy: true})
}

// mount mounts the overlay of the layer directories lower (topmost first)
// on the bundle's rootfs, with an upper and a work directory of its own.
func (b *bundle) mount(image string, lower []string, volatile bool) error {
	rec := record{
		Image: image, Lower: lower, Volatile: volatile,
		Upper: filepath.Join(b.state(), "upper"),
		Work:  filepath.Join(b.state(), "work"),
	}
	if err := os.Mkdir(b.state(), 0o700); err != nil {
		return fmt.Errorf("create bundle state: %w", err)
	}
	b.made = append(b.made, b.state())
	for _, d := range []string{rec.Upper, rec.Work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("create bundle state: %w", err)
		}
	}
	if !b.rootfsExisted {
		if err := os.Mkdir(b.rootfs(), 0o755); err != nil {
			return fmt.Errorf("create rootfs: %w", err)
		}
		b.made = append(b.made, b.rootfs())
	}
	if err := inheritRoot(rec.Upper, lower); err != nil {
		return err
	}
	if err := mountOverlay(b.rootfs(), rec); err != nil {
		return err
	}
	b.mounted = true
	return b.writeRecord(rec)
}

func (b *bundle) writeRecord(rec record) error {
	if err := os.MkdirAll(b.state(), 0o700); err != nil {
		return err
	}
	if !slices.Contains(b.made, b.state()) {
		b.made = append(b.made, b.state())
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(b.state(), "rootfs.json"), data)
}

// inheritRoot gives the upper directory the owner and mode of the topmost
// layer's root: the upper directory's root is the container's /.
func inheritRoot(upper string, lower []string) error {
	if len(lower) == 0 {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(lower[0], &st); err != nil {
		return err
	}
	if err := unix.Chown(upper, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return unix.Chmod(upper, st.Mode&0o7777)
}

// mountOverlay mounts the overlay rec describes on target. A lowerdir list
// too long for mount(2)'s one page of options is passed one directory at
// a time through fsconfig(2) ("lowerdir+", Linux 6.8).
func mountOverlay(target string, rec record) error {
	lower := rec.Lower
	if len(lower) == 0 {
		// An image without layers: overlayfs needs a lower directory.
		lower = []string{rec.Work + "-empty"}
		if err := os.MkdirAll(lower[0], 0o755); err != nil {
			return err
		}
	}
	data := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + rec.Upper + ",workdir=" + rec.Work
	if rec.Volatile {
		data += ",volatile"
	}
	if len(data) < unix.Getpagesize()-1 {
		if err := unix.Mount("overlay", target, "overlay", 0, data); err != nil {
			return fmt.Errorf("mount overlay on %s: %w", target, err)
		}
		return nil
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("mount overlay on %s: %d layers: %w", target, len(lower), err)
	}
	defer unix.Close(fd)
	for _, l := range lower {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("mount overlay on %s: lowerdir %s: %w", target, l, err)
		}
	}
	if err := unix.FsconfigSetString(fd, "upperdir", rec.Upper); err != nil {
		return fmt.Errorf("mount overlay on %s: upperdir: %w", target, err)
	}
	if err := unix.FsconfigSetString(fd, "workdir", rec.Work); err != nil {
		return fmt.Errorf("mount overlay on %s: workdir: %w", target, err)
	}
	if rec.Volatile {
		if err := unix.FsconfigSetFlag(fd, "volatile"); err != nil {
			return fmt.Errorf("mount overlay on %s: volatile: %w", target, err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("mount overlay on %s: %w", target, err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mount overlay on %s: %w", target, err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount overlay on %s: %w", target, err)
	}
	return nil
}

func readRecord(bundleDir string) (record, error) {
	var rec record
	data, err := os.ReadFile(filepath.Join(bundleDir, stateDir, "rootfs.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, fmt.Errorf("bundle %s: %w", bundleDir, ErrNotBundle)
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("bundle %s: rootfs.json: %w: %w", bundleDir, ErrCorrupt, err)
	}
	return rec, nil
}

// Mount mounts again the overlay rootfs of a bundle Unpack made, as after
// a reboot. It does nothing when the rootfs is mounted or a plain
// directory.
func Mount(bundleDir string) error {
	dir, err := filepath.Abs(bundleDir)
	if err != nil {
		return err
	}
	rec, err := readRecord(dir)
	if err != nil || rec.Copy {
		return err
	}
	rootfs := filepath.Join(dir, "rootfs")
	if mounted, err := mountinfo.Mounted(rootfs); err != nil || mounted {
		return err
	}
	return mountOverlay(rootfs, rec)
}

// Remove deletes a bundle Unpack made: it unmounts the overlay rootfs and
// removes rootfs, config.json, the bundle's state and, when nothing else
// is left in it, the bundle directory. The store's layers stay. It
// refuses to delete a rootfs that something is still mounted in, or that
// is in use (EBUSY).
func Remove(bundleDir string) error { return remove(bundleDir, false) }

// Discard is Remove for a bundle that nothing may use any more, such as a
// removed container's. A rootfs busy for longer than a moment (a process
// forked meanwhile elsewhere holds a file of it until it executes) is
// detached from the tree, as Docker does with a container's rootfs, and
// goes once the last user lets go; it is never deleted through a live
// mount.
func Discard(bundleDir string) error { return remove(bundleDir, true) }

// busyRetries and busyWait bound how long Discard waits for a busy rootfs
// before it detaches it: about half a second.
const (
	busyRetries = 10
	busyWait    = 50 * time.Millisecond
)

func remove(bundleDir string, discard bool) error {
	dir, err := filepath.Abs(bundleDir)
	if err != nil {
		return err
	}
	rec, err := readRecord(dir)
	if err != nil {
		return err
	}
	rootfs := filepath.Join(dir, "rootfs")
	if !rec.Copy {
		if err := unmountRootfs(rootfs, discard); err != nil {
			return fmt.Errorf("unmount %s: %w", rootfs, err)
		}
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(rootfs))
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("remove %s: %s is still mounted: %w", rootfs, mounts[0].Mountpoint, unix.EBUSY)
	}
	// The rootfs first: while it is still a mount point, removing it
	// fails before the overlay's upper and work directories are touched.
	for _, p := range []string{rootfs, filepath.Join(dir, "config.json"), filepath.Join(dir, stateDir)} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	os.Remove(dir) // only when empty
	return nil
}

// unmountRootfs unmounts a bundle's overlay. It is not an error that it is
// not mounted. With discard, a busy mount is tried again for a while and
// then detached (MNT_DETACH).
func unmountRootfs(rootfs string, discard bool) error {
	for i := 0; ; i++ {
		err := unix.Unmount(rootfs, 0)
		switch {
		case err == nil, errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil
		case !discard || !errors.Is(err, unix.EBUSY):
			return err
		case i < busyRetries:
			time.Sleep(busyWait)
		default:
			return unix.Unmount(rootfs, unix.MNT_DETACH)
		}
	}
}
