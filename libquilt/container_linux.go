package libquilt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/user"
	"github.com/opencontainers/runc/libcontainer"
)

// Status is a container's status as `state` reports it.
type Status string

// The statuses of the runtime-spec, plus runc's "paused".
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// State is what `quilt state` prints: the runtime-spec state plus the fields
// runc adds (rootfs, created, owner).
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// container is a loaded container: libcontainer's view plus Quilt's meta.
type container struct {
	id   string
	lc   *libcontainer.Container
	meta *meta
	dir  string
}

func (r *Runtime) stateDir(id string) string { return filepath.Join(r.root, id) }

// load reads the container id from the root.
func (r *Runtime) load(id string) (*container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	lc, err := libcontainer.Load(r.root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
		}
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	dir := r.stateDir(id)
	m, err := loadMeta(dir)
	if errors.Is(err, os.ErrNotExist) {
		m = &meta{}
	} else if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return &container{id: id, lc: lc, meta: m, dir: dir}, nil
}

// status maps libcontainer's status to Quilt's.
func (c *container) status() (Status, error) {
	st, err := c.lc.Status()
	if err != nil {
		return "", fmt.Errorf("container %s status: %w", c.id, err)
	}
	switch st {
	case libcontainer.Created:
		return Created, nil
	case libcontainer.Running:
		return Running, nil
	case libcontainer.Paused:
		return Paused, nil
	default:
		return Stopped, nil
	}
}

func (c *container) state() (*State, error) {
	st, err := c.lc.State()
	if err != nil {
		return nil, fmt.Errorf("container %s state: %w", c.id, err)
	}
	status, err := c.status()
	if err != nil {
		return nil, err
	}
	pid := st.BaseState.InitProcessPid
	if status == Stopped {
		pid = 0
	}
	version := c.meta.OCIVersion
	if version == "" {
		version = st.BaseState.Config.Version
	}
	return &State{
		OCIVersion:  version,
		ID:          c.id,
		Pid:         pid,
		Status:      status,
		Bundle:      c.meta.Bundle,
		Rootfs:      st.BaseState.Config.Rootfs,
		Created:     st.BaseState.Created,
		Annotations: c.meta.Annotations,
		Owner:       owner(c.dir),
	}, nil
}

// owner names the user owning a state directory, as runc does.
func owner(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	uid := int(fi.Sys().(*syscall.Stat_t).Uid)
	if u, err := user.LookupUid(uid); err == nil {
		return u.Name
	}
	return "#" + strconv.Itoa(uid)
}

// State returns the state of container id.
func (r *Runtime) State(id string) (*State, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	return c.state()
}

// List returns the state of every container under the root, sorted by id.
// Containers that vanish while being listed are skipped.
func (r *Runtime) List() ([]State, error) {
	entries, err := os.ReadDir(r.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.root, err)
	}
	var out []State
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || ValidateID(e.Name()) != nil {
			continue
		}
		st, err := r.State(e.Name())
		if errors.Is(err, ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
