package imageconfig

import "errors"

var (
	// ErrUnknownUser is returned when an image's User names a user that
	// its /etc/passwd does not hold.
	ErrUnknownUser = errors.New("unknown user")
	// ErrUnknownGroup is returned when an image's User names a group that
	// its /etc/group does not hold.
	ErrUnknownGroup = errors.New("unknown group")
	// ErrInvalidUser is returned for a User that is not "user[:group]"
	// with names or ids in range.
	ErrInvalidUser = errors.New("invalid user")
)
