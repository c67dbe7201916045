package main

import "errors"

var (
	// ErrNotRoot is returned when the harness runs without root, which
	// quiltd, containerd and podman need.
	ErrNotRoot = errors.New("benchmark needs root")
	// ErrBadFlag is returned for a flag value that cannot be used.
	ErrBadFlag = errors.New("invalid flag value")
	// ErrCommand is returned when a tool's command exits non-zero or is
	// killed by the command timeout.
	ErrCommand = errors.New("command failed")
	// ErrNotReady is returned when a daemon or a container does not get
	// ready within the timeout.
	ErrNotReady = errors.New("not ready in time")
	// ErrOutput is returned when a command's output is not what the
	// harness checks for (a logs line, a pid).
	ErrOutput = errors.New("unexpected output")
	// ErrInterrupted is returned after SIGINT or SIGTERM stopped the run.
	ErrInterrupted = errors.New("interrupted")
)
