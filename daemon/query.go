package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/libquilt"
)

// APIVersion is the version of the gRPC API the daemon serves.
const APIVersion = "quilt.v1"

func (c *ctr) createdAt() time.Time { return c.rec.Created }

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// toProto describes the container for the API.
func (c *ctr) toProto() *quiltv1.Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := &quiltv1.Container{
		Id: c.rec.ID, Name: c.rec.Name, Image: c.rec.Image, ImageId: c.rec.ImageID,
		Pid: int32(c.rec.Pid), CreatedAt: ts(c.rec.Created), StartedAt: ts(c.rec.Started),
		Config: proto.Clone(c.config).(*quiltv1.ContainerConfig), Command: c.rec.Command,
		Error: c.rec.Error, Network: c.networkStatus(),
	}
	switch c.rec.State {
	case stateCreated:
		p.Status = quiltv1.Status_STATUS_CREATED
	case stateRunning:
		p.Status = quiltv1.Status_STATUS_RUNNING
	case stateExited:
		p.Status = quiltv1.Status_STATUS_EXITED
		p.ExitCode, p.OomKilled, p.FinishedAt = int32(c.rec.ExitCode), c.rec.OOM, ts(c.rec.Finished)
	}
	return p
}

// Inspect describes one container; a running one is checked for pause.
func (d *Daemon) Inspect(ctx context.Context, ref string) (*quiltv1.Container, error) {
	c, err := d.lookup(ref)
	if err != nil {
		return nil, err
	}
	p := c.toProto()
	if p.Status == quiltv1.Status_STATUS_RUNNING {
		if st, err := d.rt.State(p.Id); err == nil && st.Status == libquilt.Paused {
			p.Status = quiltv1.Status_STATUS_PAUSED
		}
	}
	return p, nil
}

// List returns the containers that match the request's filters, newest
// first.
func (d *Daemon) List(ctx context.Context, req *quiltv1.ListRequest) ([]*quiltv1.Container, error) {
	var imageID string
	if req.Image != "" {
		img, err := d.images.resolve(req.Image)
		if err != nil {
			return nil, err
		}
		imageID = img.ID
	}
	var out []*quiltv1.Container
	for _, c := range d.snapshot() {
		p := c.toProto()
		if !req.All && len(req.Status) == 0 && p.Status != quiltv1.Status_STATUS_RUNNING {
			continue
		}
		if len(req.Status) > 0 && !containsStatus(req.Status, p.Status) {
			continue
		}
		if req.Name != "" && !strings.Contains(p.Name, req.Name) {
			continue
		}
		if imageID != "" && p.ImageId != imageID {
			continue
		}
		if !hasLabels(p.Config.GetLabels(), req.Labels) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func containsStatus(list []quiltv1.Status, s quiltv1.Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		got, ok := have[k]
		if !ok || (v != "" && got != v) {
			return false
		}
	}
	return true
}

// Stats reads a running container's memory, CPU and pids counters.
func (d *Daemon) Stats(ctx context.Context, ref string) (*quiltv1.ContainerStats, error) {
	c, err := d.lookup(ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	state, id, name := c.rec.State, c.rec.ID, c.rec.Name
	c.mu.Unlock()
	if state != stateRunning {
		return nil, errorf(ErrState, "container %s is not running: it has no statistics", name)
	}
	st, err := d.rt.Stats(id)
	if err != nil {
		var se *libquilt.StateError
		if errors.As(err, &se) || errors.Is(err, libquilt.ErrNotExist) {
			return nil, errorf(ErrState, "container %s is not running: it has no statistics", name)
		}
		return nil, fmt.Errorf("container %s statistics: %w", name, err)
	}
	out := &quiltv1.ContainerStats{Id: id, ReadAt: timestamppb.Now()}
	out.MemoryUsage, out.MemoryLimit, out.MemoryMaxUsage = st.Memory.Usage.Usage, st.Memory.Usage.Limit, st.Memory.Usage.Max
	out.CpuUsage = st.CPU.Usage.Total
	out.Pids, out.PidsLimit = st.Pids.Current, st.Pids.Limit
	return out, nil
}

// Version describes the daemon.
func Version(version, commit string) *quiltv1.VersionResponse {
	return &quiltv1.VersionResponse{Version: version, Commit: commit, ApiVersion: APIVersion,
		RuntimeSpecVersion: specs.Version, GoVersion: runtime.Version()}
}

// Health counts the containers and images.
func (d *Daemon) Health(ctx context.Context) (*quiltv1.HealthResponse, error) {
	h := &quiltv1.HealthResponse{Serving: d.ctx.Err() == nil}
	for _, c := range d.snapshot() {
		h.Containers++
		c.mu.Lock()
		if c.rec.State == stateRunning {
			h.Running++
		}
		c.mu.Unlock()
	}
	imgs, err := d.images.list()
	if err != nil {
		return nil, err
	}
	h.Images = int32(len(imgs))
	return h, nil
}
