package main

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
)

var (
	errNotRunning    = errors.New("is quiltd running?")
	errEmptyAddress  = errors.New("empty socket path")
	errNoID          = errors.New("missing container id")
	errNoArgs        = errors.New("missing argument")
	errNoImage       = errors.New("missing image (give IMAGE or --image-path FILE)")
	errNoCommand     = errors.New("missing command")
	errInvalidSize   = errors.New("not a size (a number of MiB, or a number with a unit: 512M, 1.5G, 64MiB, 1048576b)")
	errNotPositive   = errors.New("must be more than zero")
	errTooLarge      = errors.New("too large")
	errInvalidCPUs   = errors.New("not a number of CPUs (such as 1.5)")
	errTooFewCPUs    = errors.New("less than the minimum of 0.01 CPUs")
	errInvalidTime   = errors.New("not a time (a duration such as 10m, an RFC 3339 time, a date or Unix seconds)")
	errInvalidFilter = errors.New("invalid filter")
	errInvalidMount  = errors.New("invalid mount")
	errStreamEnded   = errors.New("quiltd ended the stream early")
	errNotTerminal   = errors.New("the input device is not a terminal (drop -t, or run from a terminal)")
)

// exitStatus ends quiltctl with this status and no message: the status of a
// container or process, or 1 after errors that were already shown.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// codedError is an error shown to the user that ends quiltctl with its own
// status (125 when run or create fails before the container ran).
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// daemonError is an error status from quiltd, kept as the plain sentence
// quiltd wrote ("no such container: web"), never "rpc error: code = ...".
type daemonError struct {
	code codes.Code
	msg  string
}

func (e *daemonError) Error() string { return e.msg }

// Is makes a cancelled call match context.Canceled.
func (e *daemonError) Is(target error) bool {
	return e.code == codes.Canceled && target == context.Canceled
}

// isCode reports whether err is a status of quiltd with this code.
func isCode(err error, code codes.Code) bool {
	var de *daemonError
	return errors.As(err, &de) && de.code == code
}
