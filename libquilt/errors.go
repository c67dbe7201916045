package libquilt

import (
	"errors"
	"fmt"
)

// Sentinel errors; check them with errors.Is.
var (
	// ErrNotExist: no container with that id under the root.
	ErrNotExist = errors.New("no such container")
	// ErrExist: a container with that id already exists.
	ErrExist = errors.New("container already exists")
	// ErrInvalidID: the id has characters outside [A-Za-z0-9_+.-] or is
	// "." or "..".
	ErrInvalidID = errors.New("invalid container id")
	// ErrInvalidState: the operation is not allowed in the container's
	// current status.
	ErrInvalidState = errors.New("container is in the wrong state")
	// ErrBundle: the bundle directory or its config.json is missing or
	// unreadable.
	ErrBundle = errors.New("invalid bundle")
	// ErrNixfix: nixfix's strict policy refused the container's rootfs.
	ErrNixfix = errors.New("nixfix left the rootfs unrepaired")
	// ErrNoShell: no quilt-sh binary was found to mount into a container.
	ErrNoShell = errors.New("no quilt-sh binary")
)

// StateError says which operation the container's status refused.
type StateError struct {
	ID     string
	Op     string // "start", "delete", ...
	Status Status
	Want   string // what the operation needs, e.g. "created"
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s container %s: it is %s (%s)", e.Op, e.ID, e.Status, e.Want)
}

// Unwrap makes errors.Is(err, ErrInvalidState) true.
func (e *StateError) Unwrap() error { return ErrInvalidState }
