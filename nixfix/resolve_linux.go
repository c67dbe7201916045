package nixfix

import (
	"errors"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxHops is Linux's MAXSYMLINKS: links followed in one resolution.
const maxHops = 40

// status is the outcome class of an in-root resolution.
type status uint8

const (
	statusOK status = iota
	statusNoEnt
	statusLoop
	statusNotDir
	statusXDev
	statusMagic
	statusError
)

func (s status) String() string {
	return [...]string{"ok", "enoent", "eloop", "enotdir", "xdev", "magic", "error"}[s]
}

// resolved is the result of resolving one in-root path.
type resolved struct {
	status status
	err    error // the errno, for statusError
	// path is the canonical in-root path of the result when ok; otherwise
	// the canonical path of the component that failed (for enoent the
	// first missing component).
	path string
	// rest holds the components that were still to be resolved after the
	// failing one, so path+rest is where the resolution was heading.
	rest []string
	// chain holds the path and then the path after each link followed,
	// at most maxHops entries.
	chain []string
	// lexicalEscape: a link's ".." tried to climb above the root.
	lexicalEscape bool
	// procMagic: the resolution went through /proc.
	procMagic bool
	// through: the resolution looked up resolveOpts.through.
	through bool
	st      unix.Stat_t // of the result, when ok
	// parentFd and name locate the result when resolveOpts.keep was set:
	// an O_PATH fd of its directory (the caller closes it) and its name
	// there ("" when the result is the root itself).
	parentFd int
	name     string
}

func (r resolved) ok() bool { return r.status == statusOK }

// release closes the parent fd that resolveOpts.keep handed out, if any.
func (r resolved) release() {
	if r.parentFd >= 0 {
		unix.Close(r.parentFd)
	}
}

// isDir, isReg and isLink describe the final object of an ok resolution.
func (r resolved) isDir() bool  { return r.ok() && r.st.Mode&unix.S_IFMT == unix.S_IFDIR }
func (r resolved) isReg() bool  { return r.ok() && r.st.Mode&unix.S_IFMT == unix.S_IFREG }
func (r resolved) isLink() bool { return r.ok() && r.st.Mode&unix.S_IFMT == unix.S_IFLNK }

// intended is where a failed resolution was heading: the failing path
// followed by the components left.
func (r resolved) intended() string {
	return path.Join(append([]string{r.path}, r.rest...)...)
}

type resolveOpts struct {
	// noFollow leaves a final symlink unresolved (O_NOFOLLOW).
	noFollow bool
	// through is a canonical in-root path; resolved.through records
	// whether the resolution looked it up.
	through string
	// keep asks for resolved.parentFd and resolved.name.
	keep bool
}

type component struct {
	name     string
	fromLink bool
}

func components(p string, fromLink bool, rest []component) []component {
	var out []component
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, component{c, fromLink})
		}
	}
	if strings.HasSuffix(p, "/") && len(out) > 0 {
		out = append(out, component{".", fromLink}) // a trailing slash asks for a directory
	}
	return append(out, rest...)
}

// resolve resolves the in-root path p with the semantics of
// openat2(rootfd, p, O_PATH, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV):
// absolute link targets restart at the root, ".." at the root stays there,
// at most 40 links are followed, mount points are not crossed. It walks one
// component at a time with openat(O_PATH|O_NOFOLLOW) and readlinkat, so it
// can record the hops and the first missing component; it never
// looks at anything outside the rootfs.
func (r *rootDir) resolve(p string, o resolveOpts) resolved {
	res := resolved{parentFd: -1, chain: []string{cleanIn(p)}}
	var (
		cur   []string // canonical components of the current directory
		fds   []int    // fds[i] is the O_PATH fd of cur[:i+1]
		hops  int
		queue = components(p, false, nil)
	)
	dirFd := func() int {
		if len(fds) == 0 {
			return r.fd
		}
		return fds[len(fds)-1]
	}
	popAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
		fds, cur = nil, nil
	}
	defer popAll()
	fail := func(s status, failed string, err error) resolved {
		res.status, res.path, res.err = s, failed, err
		for _, c := range queue {
			res.rest = append(res.rest, c.name)
		}
		return res
	}
	if p == "" {
		return fail(statusNoEnt, "/", nil) // as the kernel: an empty path names nothing
	}
	finish := func(fd int, name string, st unix.Stat_t) resolved {
		res.status, res.st = statusOK, st
		res.path = joinIn(append(cur, name))
		if name == "" {
			res.path = joinIn(cur)
		}
		if o.keep {
			res.name = name
			if name == "" && len(cur) > 0 {
				// The result is a directory: hand out its parent.
				res.name = cur[len(cur)-1]
				if len(fds) > 1 {
					res.parentFd, _ = unix.Dup(fds[len(fds)-2])
				} else {
					res.parentFd, _ = unix.Dup(r.fd)
				}
			} else {
				res.parentFd, _ = unix.Dup(dirFd())
			}
		}
		if fd >= 0 {
			unix.Close(fd)
		}
		return res
	}

	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c.name {
		case ".":
			continue
		case "..":
			if len(cur) == 0 {
				if c.fromLink {
					res.lexicalEscape = true
				}
				continue
			}
			unix.Close(fds[len(fds)-1])
			fds, cur = fds[:len(fds)-1], cur[:len(cur)-1]
			continue
		}
		full := joinIn(append(cur[:len(cur):len(cur)], c.name))
		if len(cur) == 0 && c.name == "proc" {
			res.procMagic = true
		}
		if isProcMagic(cur, c.name) {
			return fail(statusMagic, full, nil)
		}
		if o.through != "" && full == o.through {
			res.through = true
		}
		fd, err := unix.Openat(dirFd(), c.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fail(statusNoEnt, full, nil)
			}
			return fail(statusError, full, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return fail(statusError, full, err)
		}
		last := len(queue) == 0
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			if last && o.noFollow {
				return finish(fd, c.name, st)
			}
			hops++
			if hops > maxHops {
				unix.Close(fd)
				return fail(statusLoop, full, nil)
			}
			target, err := readlinkat(fd, "")
			unix.Close(fd)
			if err != nil {
				return fail(statusError, full, err)
			}
			if target == "" {
				return fail(statusNoEnt, full, nil)
			}
			if len(res.chain) < maxHops {
				res.chain = append(res.chain, hopPath(cur, target, queue))
			}
			if strings.HasPrefix(target, "/") {
				popAll()
			}
			queue = components(target, true, queue)
		case unix.S_IFDIR:
			if st.Dev != r.dev {
				unix.Close(fd)
				return fail(statusXDev, full, nil)
			}
			fds, cur = append(fds, fd), append(cur, c.name)
		default:
			if !last {
				unix.Close(fd)
				return fail(statusNotDir, full, nil)
			}
			return finish(fd, c.name, st)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(dirFd(), &st); err != nil {
		return fail(statusError, joinIn(cur), err)
	}
	return finish(-1, "", st)
}

// isProcMagic reports whether looking up name in the directory cur would
// reach a procfs magic link: /proc/*/root, cwd, exe or /proc/*/fd/*.
func isProcMagic(cur []string, name string) bool {
	if len(cur) == 2 && cur[0] == "proc" {
		return name == "root" || name == "cwd" || name == "exe"
	}
	return len(cur) == 3 && cur[0] == "proc" && cur[2] == "fd"
}

// hopPath is the in-root path a resolution is heading for after a link in
// the directory cur with the given target, for the diagnostic chain.
func hopPath(cur []string, target string, rest []component) string {
	parts := []string{target}
	if !strings.HasPrefix(target, "/") {
		parts = []string{joinIn(cur), target}
	}
	for _, c := range rest {
		parts = append(parts, c.name)
	}
	return cleanIn(path.Join(parts...))
}
