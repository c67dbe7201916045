package shell

import (
	"os"

	"golang.org/x/sys/unix"
)

// execve replaces the process with path. The interpreter's stdio may have
// been redirected (`exec cmd >log`); those files become fds 0-2 first,
// since the kernel only passes file descriptors on. It returns only when
// execve fails, with fds 0-2 already moved.
func execve(c *call, path string, argv, env []string) error {
	for fd, stream := range []any{c.stdin, c.stdout, c.stderr} {
		f, ok := stream.(*os.File)
		if !ok || f == nil {
			continue
		}
		if from := int(f.Fd()); from != fd {
			if err := unix.Dup3(from, fd, 0); err != nil {
				return err
			}
		}
	}
	return unix.Exec(path, argv, env)
}
