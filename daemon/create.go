package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/libquilt"
	"github.com/quilt-runtime/quilt/libquilt/image"
)

// CreateOptions describe a container to create.
type CreateOptions struct {
	Config *quiltv1.ContainerConfig
	// ImagePath is imported first when Config.Image is empty or unknown.
	ImagePath string
}

// Create makes a container from an image and leaves it created, its
// quilt-init waiting to be started. On error nothing is left: no record,
// bundle, cgroup, socket or process.
func (d *Daemon) Create(ctx context.Context, o CreateOptions) (*quiltv1.Container, error) {
	c, err := d.create(ctx, o)
	if err != nil {
		return nil, err
	}
	return c.toProto(), nil
}

func (d *Daemon) create(ctx context.Context, o CreateOptions) (_ *ctr, retErr error) {
	cfg := &quiltv1.ContainerConfig{}
	if o.Config != nil {
		cfg = proto.Clone(o.Config).(*quiltv1.ContainerConfig)
	}
	if err := validateConfig(cfg); err != nil {
		return nil, err
	}
	if err := d.setDefaultNetwork(cfg); err != nil {
		return nil, err
	}
	img, err := d.imageFor(ctx, cfg, o.ImagePath)
	if err != nil {
		return nil, err
	}
	argv, err := command(img.Config.Config.Entrypoint, img.Config.Config.Cmd, cfg)
	if err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "quilt-" + id[:12]
	}
	c := &ctr{
		dir:    filepath.Join(d.cfg.Root, "containers", id),
		config: cfg,
		exited: make(chan struct{}),
		gone:   make(chan struct{}),
		rec: record{ID: id, Name: cfg.Name, Image: cfg.Image, ImageID: img.ID, Command: argv,
			State: stateCreated, Created: time.Now().UTC()},
	}
	if err := d.reserveName(cfg.Name, id); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			d.mu.Lock()
			delete(d.names, cfg.Name)
			d.mu.Unlock()
			d.cleanupDir(id, c.dir)
		}
	}()
	if err := os.Mkdir(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("container directory: %w", err)
	}
	res, err := image.BundleFromStored(ctx, d.cfg.Root, img, image.BundleOptions{Bundle: c.bundlePath(), Volatile: true})
	if err != nil {
		return nil, fmt.Errorf("container %s bundle: %w", cfg.Name, err)
	}
	s, bundle, err := libquilt.LoadBundle(c.bundlePath())
	if err != nil {
		return nil, fmt.Errorf("container %s bundle: %w", cfg.Name, err)
	}
	if err := d.containerSpec(s, id, cfg, argv, res.Rootfs, &c.rec.Process); err != nil {
		return nil, err
	}
	if err := d.attachNetwork(ctx, c, s); err != nil {
		return nil, err
	}
	files, err := c.openFiles(d.socketPath(id))
	if err != nil {
		return nil, err
	}
	defer func() { closeAll(files) }()
	filter, err := d.useCompiledSeccomp(s)
	if err != nil {
		return nil, err
	}
	if filter != nil {
		files = append(files, filter) // initproto.SeccompFD
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	if err := d.rt.Create(libquilt.CreateOptions{
		ID: id, Bundle: bundle, Spec: s, ExtraFiles: files,
		Stdin: devnull, Stdout: devnull, Stderr: devnull,
	}); err != nil {
		return nil, createError(cfg.Name, err)
	}
	c.rec.Socket = d.socketPath(id)
	if err := c.save(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.ctrs[id] = c
	d.mu.Unlock()
	d.events.publish(c.event("create"))
	d.log.WithField("id", id).WithField("name", cfg.Name).Info("container created")
	return c, nil
}

// createError turns libquilt's create errors into the daemon's kinds.
func createError(name string, err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) && (errno == unix.ENOSPC || errno == unix.EAGAIN || errno == unix.ENOMEM) {
		return errorf(ErrResource, "container %s: %w", name, err)
	}
	return fmt.Errorf("container %s: %w", name, err)
}

// imageFor finds the configuration's image, importing imagePath (or
// cfg.Image when it is the absolute path of an image on this host) when the
// image is not known yet. It sets cfg.Image when it was empty.
func (d *Daemon) imageFor(ctx context.Context, cfg *quiltv1.ContainerConfig, imagePath string) (*image.Stored, error) {
	if cfg.Image == "" && imagePath == "" {
		return nil, errorf(ErrInvalid, "no image given: name an imported image or give an image path")
	}
	if cfg.Image != "" {
		img, err := d.images.resolve(cfg.Image)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return img, err
		}
		if imagePath == "" {
			// An image named by the path of a file or directory on this
			// host is imported on first use too.
			if !filepath.IsAbs(cfg.Image) {
				return nil, err
			}
			if _, serr := os.Stat(cfg.Image); serr != nil {
				return nil, err
			}
			imagePath = cfg.Image
		}
	}
	if cfg.Image == "" {
		cfg.Image = imagePath
		if img, err := d.images.resolve(imagePath); err == nil {
			return img, nil
		}
	}
	img, added, err := d.images.importImage(ctx, imagePath, "", "", nil)
	if err != nil {
		return nil, err
	}
	if added {
		d.events.publish(imageEvent("import", img))
	}
	return img, nil
}

func (d *Daemon) reserveName(name, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if other, ok := d.names[name]; ok {
		return errorf(ErrExists, "container name %q is already in use by container %s: remove it or choose another name", name, other[:12])
	}
	d.names[name] = id
	return nil
}

// socketPath is the exec socket of a container: short, because a unix
// socket path has at most 107 bytes.
func (d *Daemon) socketPath(id string) string {
	return filepath.Join(d.cfg.State, "s", id[:16])
}

// openFiles opens what quilt-init inherits: the log file, the exit-status
// file and the listening exec socket (fds 3, 4, 5 in the container).
func (c *ctr) openFiles(socket string) (_ []*os.File, retErr error) {
	var files []*os.File
	defer func() {
		if retErr != nil {
			closeAll(files)
		}
	}()
	logf, err := os.OpenFile(c.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	files = append(files, logf)
	exitf, err := os.OpenFile(c.exitPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("exit status file: %w", err)
	}
	files = append(files, exitf)
	_ = os.Remove(socket)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("exec socket: %w", err)
	}
	l.SetUnlinkOnClose(false)
	sock, err := l.File()
	l.Close()
	if err != nil {
		os.Remove(socket)
		return nil, fmt.Errorf("exec socket: %w", err)
	}
	return append(files, sock), nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// cleanupDir removes what a container may have left: its libquilt state
// and cgroup, its bundle's overlay mount, its directory and its socket.
func (d *Daemon) cleanupDir(id, dir string) {
	log := d.log.WithField("id", id)
	if err := d.rt.Delete(id, true); err != nil && !errors.Is(err, libquilt.ErrNotExist) {
		log.WithError(err).Warn("deleting the container's runtime state")
	}
	d.releaseNetwork(id, dir)
	if len(id) >= 16 {
		_ = os.Remove(d.socketPath(id))
	}
	bundle := filepath.Join(dir, "bundle")
	if _, err := os.Stat(bundle); err == nil {
		if err := image.Discard(bundle); err != nil {
			// Never delete the rest through a rootfs still mounted.
			log.WithError(err).Warn("removing the container's bundle; its directory stays")
			return
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		log.WithError(err).Warn("removing the container's directory")
	}
}

func newID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("container id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
