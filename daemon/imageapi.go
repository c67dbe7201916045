package daemon

import (
	"context"
	"slices"
	"sort"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/libquilt/image"
)

// ImportImage imports the image at req.Path (a path on the daemon's host),
// reporting progress, and returns it.
func (d *Daemon) ImportImage(ctx context.Context, req *quiltv1.ImportRequest, progress func(*quiltv1.ImportProgress)) (*quiltv1.Image, error) {
	if req.Path == "" {
		return nil, errorf(ErrInvalid, "no image path given")
	}
	var report func(image.Progress)
	if progress != nil {
		report = func(p image.Progress) {
			progress(&quiltv1.ImportProgress{Phase: p.Phase, Layer: int32(p.Layer), Layers: int32(p.Layers), Bytes: p.Bytes, Total: p.Total})
		}
	}
	img, added, err := d.images.importImage(ctx, req.Path, req.Ref, req.Name, report)
	if err != nil {
		return nil, err
	}
	if added {
		d.events.publish(imageEvent("import", img))
	}
	return d.imageProto(img), nil
}

// imageProto describes an image with the containers made from it.
func (d *Daemon) imageProto(img *image.Stored) *quiltv1.Image {
	c := img.Config.Config
	p := &quiltv1.Image{
		Id: img.ID, Names: slices.Clone(img.Names), Format: img.Format, Size: img.Size,
		Layers: slices.Clone(img.Layers), ImportedAt: ts(importedAt(img)),
		Config: &quiltv1.ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env,
			WorkingDir: c.WorkingDir, User: c.User, Labels: c.Labels},
	}
	p.Containers = d.usersOf(img.ID)
	return p
}

// usersOf lists the containers made from image id.
func (d *Daemon) usersOf(id string) []string {
	var out []string
	for _, c := range d.snapshot() {
		if c.rec.ImageID == id {
			out = append(out, c.rec.ID)
		}
	}
	return out
}

// ListImages returns the stored images, newest import first.
func (d *Daemon) ListImages(ctx context.Context) ([]*quiltv1.Image, error) {
	imgs, err := d.images.list()
	if err != nil {
		return nil, err
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].Imported.After(imgs[j].Imported) })
	out := make([]*quiltv1.Image, len(imgs))
	for i, img := range imgs {
		out[i] = d.imageProto(img)
	}
	return out, nil
}

// InspectImage describes one image.
func (d *Daemon) InspectImage(ctx context.Context, ref string) (*quiltv1.Image, error) {
	img, err := d.images.resolve(ref)
	if err != nil {
		return nil, err
	}
	return d.imageProto(img), nil
}

// RemoveImage deletes an image. While containers use it, it is refused;
// with force, those that are not running are removed first (a running
// container still refuses it: its root filesystem is made of the image).
func (d *Daemon) RemoveImage(ctx context.Context, ref string, force bool) (string, error) {
	img, err := d.images.resolve(ref)
	if err != nil {
		return "", err
	}
	users := d.usersOf(img.ID)
	if len(users) > 0 && !force {
		return "", errorf(ErrState, "image %s is used by %d container(s) (%s): remove them first, or force the removal", ref, len(users), short(users[0]))
	}
	for _, id := range users {
		c, err := d.lookup(id)
		if err != nil {
			continue
		}
		c.mu.Lock()
		state := c.rec.State
		c.mu.Unlock()
		if state == stateRunning {
			return "", errorf(ErrState, "image %s is used by running container %s: stop it first", ref, c.rec.Name)
		}
	}
	for _, id := range users {
		if err := d.Remove(ctx, id, true); err != nil && !isNotFound(err) {
			return "", err
		}
	}
	if err := d.images.remove(img); err != nil {
		return "", err
	}
	d.events.publish(imageEvent("image-remove", img))
	return img.ID, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
