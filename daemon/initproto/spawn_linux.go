package initproto

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// spawn describes a process to start: the command, its environment and
// where its stdin, stdout and stderr go.
type spawn struct {
	args  []string
	env   []string
	dir   string // "" keeps quilt-init's working directory
	cred  *syscall.Credential
	files []uintptr // the child's fds 0, 1 and 2
	sys   syscall.SysProcAttr
}

// start looks up s.args[0] in the PATH of s.env and starts it as a child
// of r. An error is an *execError whose kind is ErrNotFound,
// ErrNotExecutable or nil.
func (r *reaper) spawn(s *spawn) (*child, error) {
	if len(s.args) == 0 || s.args[0] == "" {
		return nil, &execError{kind: ErrNotFound, err: errors.New("empty command")}
	}
	name := s.args[0]
	if s.dir != "" {
		if _, err := os.Stat(s.dir); err != nil {
			return nil, &execError{name: name, err: wrap(errnoOf(err), "working directory "+s.dir)}
		}
	}
	path, err := lookPath(name, envValue(s.env, "PATH", DefaultPath), s.dir)
	if err != nil {
		return nil, err
	}
	sys := s.sys
	sys.Credential = s.cred
	c, err := r.start(path, s.args, &syscall.ProcAttr{Dir: s.dir, Env: s.env, Files: s.files, Sys: &sys})
	if err != nil {
		return nil, &execError{name: name, kind: execErrorKind(err), err: err}
	}
	return c, nil
}

// execErrorKind classifies an error of execve(2).
func execErrorKind(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return ErrNotFound
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EISDIR),
		errors.Is(err, unix.ETXTBSY), errors.Is(err, unix.ELIBBAD):
		return ErrNotExecutable
	}
	return nil
}

// errnoOf returns the errno inside a *PathError, so that messages do not
// repeat the path.
func errnoOf(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}

// lookPath finds name in the colon-separated list of directories pathList
// as execvp(3) does: a name holding a slash is used as it is; an empty
// entry is the working directory dir. A relative result is relative to
// dir, where the child starts.
func lookPath(name, pathList, dir string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	denied := false
	for d := range strings.SplitSeq(pathList, ":") {
		if d == "" {
			d = "."
		}
		p := d + "/" + name
		check := p
		if p[0] != '/' && dir != "" {
			check = dir + "/" + p
		}
		var st unix.Stat_t
		if err := unix.Stat(check, &st); err != nil {
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		if st.Mode&0o111 == 0 {
			denied = true
			continue
		}
		return p, nil
	}
	if denied {
		return "", &execError{name: name, kind: ErrNotExecutable, err: unix.EACCES}
	}
	return "", &execError{name: name, kind: ErrNotFound}
}

// envValue returns the value of the first NAME=value of env, or def.
func envValue(env []string, name, def string) string {
	for _, kv := range env {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:]
		}
	}
	return def
}

// openPTY opens a new pseudo-terminal pair of rows x cols: the master, and
// the terminal for the child. Both are close-on-exec; the child gets the
// terminal as its stdin, stdout and stderr through spawn.files.
func openPTY(rows, cols uint16) (master, tty *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, wrap(err, "open pty")
	}
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	var n uint32
	if err := control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return wrap(err, "unlock pty")
		}
		v, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
		if err != nil {
			return wrap(err, "pty number")
		}
		n = v
		return nil
	}); err != nil {
		return nil, nil, err
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	tty, err = os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, wrap(err, "open pty")
	}
	if err := resize(master, rows, cols); err != nil {
		tty.Close()
		return nil, nil, err
	}
	return master, tty, nil
}

// resize sets the window size of the terminal of master; 0 leaves the
// size as it is.
func resize(master *os.File, rows, cols uint16) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	return control(master, func(fd int) error {
		if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
			return wrap(err, "resize pty")
		}
		return nil
	})
}

// control runs fn on the fd of f without putting f in blocking mode as
// f.Fd would.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
