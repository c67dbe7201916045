package shell

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// chmod [-R] mode file...
func chmod(c *call, args []string) error {
	// A mode such as -w or -x looks like an option: take it as the mode
	// when it is not one of chmod's options.
	recursive := false
	for len(args) > 0 && (args[0] == "-R" || args[0] == "-f" || args[0] == "-v" || args[0] == "--") {
		if args[0] == "-R" {
			recursive = true
		}
		if args = args[1:]; len(args) > 0 && args[0] == "--" {
			args = args[1:]
			break
		}
	}
	if len(args) < 2 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	spec, files := args[0], args[1:]
	umask := currentUmask()
	apply := func(p string, fi fs.FileInfo) error {
		mode, err := parseMode(spec, permBits(fi.Mode()), fi.IsDir(), umask)
		if err != nil {
			return err
		}
		return os.Chmod(p, fileMode(mode))
	}
	for _, f := range files {
		p := c.path(f)
		fi, err := os.Stat(p)
		if err != nil {
			c.warnf("cannot access %s", describe(err))
			continue
		}
		if err := apply(p, fi); err != nil {
			if errors.Is(err, ErrUsage) {
				return err
			}
			c.warn(err)
			continue
		}
		if recursive && fi.IsDir() {
			walkBelow(c, p, func(q string, fi fs.FileInfo) error {
				if fi.Mode()&fs.ModeSymlink != 0 {
					return nil // chmod cannot change a link and must not follow it
				}
				return apply(q, fi)
			})
		}
	}
	return nil
}

// chown [-R] [-h] owner[:group] file...
func chown(c *call, args []string) error {
	o, ops, err := getopt(args, "Rhfv", "")
	if err != nil {
		return err
	}
	if len(ops) < 2 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	uid, gid, err := parseOwner(ops[0])
	if err != nil {
		return err
	}
	for _, f := range ops[1:] {
		p := c.path(f)
		change := os.Chown
		if o.has('h') {
			change = os.Lchown
		}
		if err := change(p, uid, gid); err != nil {
			c.warnf("cannot change owner of %s", describe(err))
			continue
		}
		if o.has('R') && isDir(p, true) {
			walkBelow(c, p, func(q string, _ fs.FileInfo) error {
				return os.Lchown(q, uid, gid)
			})
		}
	}
	return nil
}

// parseOwner parses chown's "user", "user:group", "user:", ":group" (also
// with "." as separator), by name or number. -1 leaves an id unchanged.
func parseOwner(s string) (uid, gid int, err error) {
	uid, gid = -1, -1
	name, group, hasGroup := strings.Cut(s, ":")
	if !hasGroup {
		name, group, hasGroup = strings.Cut(s, ".")
		if _, lerr := user.Lookup(s); lerr == nil {
			name, group, hasGroup = s, "", false
		}
	}
	if name != "" {
		u, err := lookupID(name, user.Lookup, func(u *user.User) string { return u.Uid })
		if err != nil {
			return 0, 0, fmt.Errorf("invalid user '%s'", name)
		}
		uid = u
		if hasGroup && group == "" {
			if usr, err := user.LookupId(strconv.Itoa(u)); err == nil {
				gid, _ = strconv.Atoi(usr.Gid)
			}
		}
	}
	if group != "" {
		g, err := lookupID(group, user.LookupGroup, func(g *user.Group) string { return g.Gid })
		if err != nil {
			return 0, 0, fmt.Errorf("invalid group '%s'", group)
		}
		gid = g
	}
	return uid, gid, nil
}

// lookupID turns a user or group name or number into a number.
func lookupID[T any](s string, lookup func(string) (T, error), id func(T) string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	v, err := lookup(s)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(id(v))
}

// walkBelow calls fn for everything below dir, not following symlinks.
func walkBelow(c *call, dir string, fn func(p string, fi fs.FileInfo) error) {
	_ = filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			c.warn(err)
			return nil
		}
		if p == dir {
			return nil
		}
		if err := fn(p, fi); err != nil {
			c.warn(err)
		}
		return nil
	})
}
