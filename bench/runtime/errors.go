package main

import "errors"

var (
	// ErrNotRoot is returned when the harness runs without root, which
	// creating containers and cgroups needs.
	ErrNotRoot = errors.New("benchmark needs root")
	// ErrNoCases is returned when -filter selects no benchmark group.
	ErrNoCases = errors.New("no benchmark group matches the filter")
	// ErrBadFlag is returned for a flag value that cannot be used.
	ErrBadFlag = errors.New("invalid flag value")
	// ErrCommand is returned when a runtime command exits non-zero or is
	// killed by the command timeout.
	ErrCommand = errors.New("runtime command failed")
	// ErrState is returned when `state` reports a status the lifecycle
	// did not expect (the wait method disagrees with the runtime).
	ErrState = errors.New("unexpected container status")
	// ErrExitTimeout is returned when a started container does not exit
	// within the command timeout.
	ErrExitTimeout = errors.New("container did not exit in time")
	// ErrForeignCgroup guards cleanup: the harness removes only its own
	// cgroup parent.
	ErrForeignCgroup = errors.New("cgroup not made by the harness")
	// ErrInterrupted is returned after SIGINT or SIGTERM stopped the run.
	ErrInterrupted = errors.New("interrupted")
)
