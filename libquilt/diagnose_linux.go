package libquilt

import (
	"path"
	"strings"

	"github.com/quilt-runtime/quilt/nixfix"
)

// diagnosedError is a failed execve explained by nixfix's analysis
// (SPEC ); it still unwraps to the original error.
type diagnosedError struct {
	msg string
	err error
}

func (e *diagnosedError) Error() string { return e.msg }
func (e *diagnosedError) Unwrap() error { return e.err }

// diagnoseExec replaces the bare "no such file or directory" of a program
// that exists in the rootfs but cannot be executed (a dangling link, a
// missing ELF or script interpreter) with the reason. Other errors, and a
// program that simply does not exist, are returned unchanged.
func diagnoseExec(err error, rootfs, prog string, env []string) error {
	if err == nil || prog == "" || !strings.Contains(err.Error(), "no such file or directory") {
		return err
	}
	d, derr := nixfix.Diagnose(rootfs, prog, env)
	if derr != nil || d.Problem == "" || strings.HasSuffix(d.Problem, "not found in PATH") {
		return err
	}
	if strings.HasPrefix(prog, "/") && d.Missing == path.Clean(prog) {
		return err // the program itself is absent: nothing to explain
	}
	return &diagnosedError{
		msg: "exec " + prog + ": no such file or directory: " + d.Problem + "; run 'quilt nixfix --check'",
		err: err,
	}
}
