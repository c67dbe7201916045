package initproto

import (
	"errors"
	"strconv"
)

var (
	// ErrNotFound means the command to start does not exist (exit code 127).
	ErrNotFound = errors.New("executable file not found")
	// ErrNotExecutable means the command exists but cannot be executed
	// (exit code 126).
	ErrNotExecutable = errors.New("not executable")
	// ErrMalformed means a log record, exit-status file or exec request
	// cannot be parsed.
	ErrMalformed = errors.New("malformed")
	// ErrProtocol means the peer of an agent connection broke the protocol.
	ErrProtocol = errors.New("agent protocol error")
	// ErrStarted means Start was called twice on one Client.
	ErrStarted = errors.New("process already started")
	// errExited means a process has been reaped, so it can be sent no
	// more signals.
	errExited = errors.New("process already exited")
)

// wrapError is fmt.Errorf("%s: %w", msg, err) for code that quilt-init
// links, which does without fmt.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *wrapError) Unwrap() error { return e.err }

func wrap(err error, msg string) error { return &wrapError{msg: msg, err: err} }

// execError explains why a process could not be started. It wraps a kind
// (ErrNotFound, ErrNotExecutable or nil) and the cause.
type execError struct {
	name string // the command as given
	kind error
	err  error // the cause; nil when kind says it all
}

func (e *execError) Error() string {
	s := "exec " + strconv.Quote(e.name)
	if e.kind != nil {
		s += ": " + e.kind.Error()
		if e.kind == ErrNotFound && e.err == nil {
			s += " in $PATH"
		}
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *execError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}
