package daemon

import (
	"errors"
	"fmt"
)

// The kinds of errors the daemon returns; the gRPC layer maps each to a
// status code (NotFound, AlreadyExists, InvalidArgument,
// FailedPrecondition, ResourceExhausted). Errors of other kinds are
// internal.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid argument")
	ErrState    = errors.New("wrong state")
	ErrResource = errors.New("resource exhausted")
)

// kindError is an error whose message is a whole sentence for the user and
// whose kind is one of the sentinels above, for errors.Is.
type kindError struct {
	kind error
	msg  string
	err  error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
func (e *kindError) Unwrap() error        { return e.err }

func errorf(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &kindError{kind: kind, msg: err.Error(), err: errors.Unwrap(err)}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
