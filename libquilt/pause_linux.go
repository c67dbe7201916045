package libquilt

import "fmt"

// Pause freezes every process of a created or running container.
func (r *Runtime) Pause(id string) error {
	return r.withLocked(id, func(c *container) error {
		status, err := c.status()
		if err != nil {
			return err
		}
		if status != Running && status != Created {
			return &StateError{ID: id, Op: "pause", Status: status, Want: "only a created or running container can be paused"}
		}
		if err := c.lc.Pause(); err != nil {
			return fmt.Errorf("pause container %s: %w", id, err)
		}
		return nil
	})
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	return r.withLocked(id, func(c *container) error {
		status, err := c.status()
		if err != nil {
			return err
		}
		if status != Paused {
			return &StateError{ID: id, Op: "resume", Status: status, Want: "only a paused container can be resumed"}
		}
		if err := c.lc.Resume(); err != nil {
			return fmt.Errorf("resume container %s: %w", id, err)
		}
		return nil
	})
}

// locked runs f while holding id's lock. The lock file goes once the
// container's state directory is gone.
func (r *Runtime) locked(id string, f func() error) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	lock, err := lockContainer(r.root, id)
	if err != nil {
		return err
	}
	defer func() { lock.unlock(!exists(r.stateDir(id))) }()
	return f()
}

// withLocked loads id under its lock and runs f.
func (r *Runtime) withLocked(id string, f func(*container) error) error {
	return r.locked(id, func() error {
		c, err := r.load(id)
		if err != nil {
			return err
		}
		return f(c)
	})
}
