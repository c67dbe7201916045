package shell

import "errors"

// Sentinel errors. Callers check them with errors.Is; messages printed to
// the user name the command or file as well.
var (
	// ErrUsage reports a bad command line for the shell or a utility.
	ErrUsage = errors.New("usage")
	// ErrNotFound reports a command that is neither a function, a builtin,
	// an executable in PATH nor a built-in utility.
	ErrNotFound = errors.New("not found")
	// ErrNotExecutable reports a file that exists but cannot be executed.
	ErrNotExecutable = errors.New("not executable")
	// ErrUnsupported reports a builtin that quilt-sh does not implement,
	// such as job control.
	ErrUnsupported = errors.New("not supported")
)
