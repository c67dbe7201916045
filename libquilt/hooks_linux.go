package libquilt

import (
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// ociState is the state handed to hooks on stdin.
func (c *container) ociState(status Status, pid int) *specs.State {
	return &specs.State{
		Version:     c.meta.OCIVersion,
		ID:          c.id,
		Status:      specs.ContainerState(status),
		Pid:         pid,
		Bundle:      c.meta.Bundle,
		Annotations: c.meta.Annotations,
	}
}

// runWarnHooks runs hooks in order, as poststart and poststop hooks run: a
// failing hook is logged as a warning and the others still run.
func runWarnHooks(kind string, hooks []specs.Hook, st *specs.State) {
	for i, h := range hooks {
		cmd := &configs.Command{Path: h.Path, Args: h.Args, Env: h.Env}
		if h.Timeout != nil {
			d := time.Duration(*h.Timeout) * time.Second
			cmd.Timeout = &d
		}
		if err := cmd.Run(st); err != nil {
			logrus.WithFields(logrus.Fields{"id": st.ID, "hook": kind, "index": i, "path": h.Path}).
				Warnf("%s hook failed, continuing: %v", kind, err)
		}
	}
}
