package nixfix

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// The only writes nixfix makes (SPEC.md 5.7). Each opens its parent with
// openDir (no symlink in any component, SEC-2) and then works relative to
// that fd; each records an Action or, on failure, a ReportError.

// newAction records a successful action.
func (s *scan) newAction(a *Action, claims ...*Finding) *Action {
	a.ID = fmt.Sprintf("A%d", len(s.actions)+1)
	for _, f := range claims {
		if f != nil {
			a.claims = append(a.claims, f)
		}
	}
	s.actions = append(s.actions, a)
	return a
}

// writeError records a write that failed and returns false.
func (s *scan) writeError(p string, err error) bool {
	code := CodeRootfs
	switch {
	case errors.Is(err, ErrUnsafePath):
		code = CodeUnsafePath
	case errors.Is(err, unix.EROFS):
		code = CodeReadOnly
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		code = CodePerm
	case errors.Is(err, unix.EEXIST), errors.Is(err, ErrExists):
		code = CodeExists
	}
	s.rep.Errors = append(s.rep.Errors, ReportError{Code: code, Path: p, Message: err.Error()})
	return false
}

// unsafePath reports that p, which nixfix would write through, is a symlink
// or not a directory; refused also records the E_UNSAFE_PATH error.
func (s *scan) unsafePath(p string, st unix.Stat_t, refused bool) *Finding {
	f := &Finding{Kind: KindUnsafePath, Severity: SeverityError, Path: p, Reason: ReasonUnsafe, key: "unsafe:" + p}
	msg := "not a directory"
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		f.Target, _ = s.r.readlink(p)
		f.Reason = ReasonSymlink
		msg = "is a symlink (-> " + f.Target + ")"
	} else if p == shellPlaceholder {
		msg = "not a regular file"
	}
	f = s.add(f)
	if refused {
		s.rep.Errors = append(s.rep.Errors, ReportError{Code: CodeUnsafePath, Path: p,
			Message: p + ": " + msg + "; refusing to write through it"})
	}
	return f
}

// withParent runs fn with an fd of p's parent directory and p's base name.
func (s *scan) withParent(p string, fn func(dfd int, name string) error) error {
	dir, name := path.Split(p)
	dfd, err := s.r.openDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	return fn(dfd, name)
}

// mkdir creates the directory p with mode 0755, set with fchmod rather than
// left to the umask.
func (s *scan) mkdir(p, reason string, claims ...*Finding) bool {
	err := s.withParent(p, func(dfd int, name string) error {
		if err := unix.Mkdirat(dfd, name, 0o755); err != nil {
			return err
		}
		return chmodDir(dfd, name, 0o755)
	})
	if err != nil {
		return s.writeError(p, fmt.Errorf("mkdir %s: %w", p, err))
	}
	s.newAction(&Action{Op: OpMkdir, Path: p, Reason: reason}, claims...)
	return true
}

func chmodDir(dfd int, name string, mode uint32) error {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fchmod(fd, mode)
}

// symlink creates the symlink p -> target where nothing exists.
func (s *scan) symlink(p, target, reason string, claims ...*Finding) bool {
	err := s.withParent(p, func(dfd int, name string) error {
		return unix.Symlinkat(target, dfd, name)
	})
	if err != nil {
		return s.writeError(p, fmt.Errorf("symlink %s: %w", p, err))
	}
	s.newAction(&Action{Op: OpSymlink, Path: p, Target: target, Reason: reason}, claims...)
	return true
}

// createFile creates p exclusively and fills it: the shell mount point
// (empty, mode 0000) or, in copy mode, the shell itself (mode 0555).
func (s *scan) createFile(p string, src io.Reader, mode uint32) error {
	return s.withParent(p, func(dfd int, name string) error {
		fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), p)
		defer f.Close()
		if src != nil {
			if _, err := io.Copy(f, src); err != nil {
				return err
			}
		}
		if err := unix.Fchmod(fd, mode); err != nil {
			return err
		}
		return f.Sync()
	})
}

// tempName is a fresh name for a staging entry next to name.
func tempName(name string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "." + name + ".nixfix-" + hex.EncodeToString(b)
}

// swap atomically puts the staged entry tmp in place of name with
// renameat2(RENAME_EXCHANGE), then checks what came out with isOld and
// exchanges back if it is not what was recorded (SEC-2). The old entry ends
// up at tmp, where drop removes it.
func swap(dfd int, tmp, name string, isOld func(name string) error, drop func(name string) error) error {
	err := unix.Renameat2(dfd, tmp, dfd, name, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return swapNoExchange(dfd, tmp, name, isOld, drop)
	}
	if err != nil {
		return err
	}
	if err := isOld(tmp); err != nil {
		if rerr := unix.Renameat2(dfd, tmp, dfd, name, unix.RENAME_EXCHANGE); rerr != nil {
			return fmt.Errorf("restore %s: %w", name, rerr)
		}
		return err
	}
	return drop(tmp)
}

// swapNoExchange is swap for file systems without RENAME_EXCHANGE: check,
// drop, rename (a small race window).
func swapNoExchange(dfd int, tmp, name string, isOld func(name string) error, drop func(name string) error) error {
	if err := isOld(name); err != nil {
		return err
	}
	if err := drop(name); err != nil {
		return err
	}
	return unix.Renameat(dfd, tmp, dfd, name)
}

// isLinkTo checks that name in dfd is a symlink to target.
func isLinkTo(dfd int, target string) func(name string) error {
	return func(name string) error {
		if t, err := readlinkat(dfd, name); err != nil || t != target {
			return fmt.Errorf("%s is no longer a symlink to %s: %w", name, target, ErrExists)
		}
		return nil
	}
}

func unlinker(dfd int) func(string) error {
	return func(name string) error { return unix.Unlinkat(dfd, name, 0) }
}

func swapSymlink(dfd int, tmp, name, prev string) error {
	return swap(dfd, tmp, name, isLinkTo(dfd, prev), unlinker(dfd))
}

// replaceSymlink replaces the symlink p (target prev) with p -> target.
func (s *scan) replaceSymlink(p, target, prev, reason string, claims ...*Finding) *Action {
	err := s.withParent(p, func(dfd int, name string) error {
		tmp := tempName(name)
		if err := unix.Symlinkat(target, dfd, tmp); err != nil {
			return err
		}
		if err := swapSymlink(dfd, tmp, name, prev); err != nil {
			unix.Unlinkat(dfd, tmp, 0)
			return err
		}
		return nil
	})
	if err != nil {
		s.writeError(p, fmt.Errorf("replace symlink %s: %w", p, err))
		return nil
	}
	return s.newAction(&Action{Op: OpReplaceSymlink, Path: p, Target: target, PreviousTarget: prev, Reason: reason}, claims...)
}

// replaceDirlink replaces the directory symlink p (target prev) with a real
// directory, mode 0755, holding a link rel/e for each entry e (expand-dirlink),
// or empty (replace-dangling-dirlink when entries is nil).
func (s *scan) replaceDirlink(p, rel, prev string, entries []string, reason string, claims ...*Finding) *Action {
	err := s.withParent(p, func(dfd int, name string) error {
		tmp := tempName(name)
		if err := unix.Mkdirat(dfd, tmp, 0o755); err != nil {
			return err
		}
		err := chmodDir(dfd, tmp, 0o755)
		if err == nil {
			err = fillDir(dfd, tmp, rel, entries)
		}
		if err == nil {
			err = swapSymlink(dfd, tmp, name, prev)
		}
		if err != nil {
			removeStaged(dfd, tmp, entries)
		}
		return err
	})
	if err != nil {
		s.writeError(p, fmt.Errorf("replace directory symlink %s: %w", p, err))
		return nil
	}
	a := &Action{Op: OpReplaceDanglingDirlink, Path: p, PreviousTarget: prev, Reason: reason}
	if entries != nil {
		a.Op, a.Target, a.Entries = OpExpandDirlink, rel, entries
	}
	return s.newAction(a, claims...)
}

func fillDir(dfd int, dir, rel string, entries []string) error {
	fd, err := unix.Openat(dfd, dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, e := range entries {
		if err := unix.Symlinkat(rel+"/"+e, fd, e); err != nil {
			return fmt.Errorf("link %s: %w", e, err)
		}
	}
	return nil
}

// removeStaged removes a staging directory that nixfix filled, and nothing
// else: only the links it made, then the (now empty) directory.
func removeStaged(dfd int, tmp string, entries []string) {
	if fd, err := unix.Openat(dfd, tmp, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
		for _, e := range entries {
			unix.Unlinkat(fd, e, 0)
		}
		unix.Close(fd)
	}
	unix.Unlinkat(dfd, tmp, unix.AT_REMOVEDIR)
}
