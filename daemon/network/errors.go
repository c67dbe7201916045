package network

import "errors"

// The kinds of errors of this package; the daemon maps each to its own.
var (
	// ErrNotFound: no such network.
	ErrNotFound = errors.New("no such network")
	// ErrExists: a network name, bridge, subnet or host port is taken.
	ErrExists = errors.New("already in use")
	// ErrInvalid: a bad name, subnet, address or port.
	ErrInvalid = errors.New("invalid network setting")
	// ErrInUse: a network that containers are attached to cannot go.
	ErrInUse = errors.New("network in use")
	// ErrPluginMissing: a CNI plugin the network needs is not installed.
	ErrPluginMissing = errors.New("CNI plugin not found")
)
