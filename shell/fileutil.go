package shell

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// mkdir [-p] [-m mode] dir...
func mkdir(c *call, args []string) error {
	o, dirs, err := getopt(args, "pv", "m")
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	modeSpec, setMode := o.value('m')
	for _, d := range dirs {
		p := c.path(d)
		if o.has('p') {
			err = os.MkdirAll(p, 0o777)
		} else {
			err = os.Mkdir(p, 0o777)
		}
		if err != nil {
			c.warnf("cannot create directory %s", describe(err))
			continue
		}
		if setMode {
			mode, err := parseMode(modeSpec, 0o777&^currentUmask(), true, 0)
			if err != nil {
				return err
			}
			if err := os.Chmod(p, fileMode(mode)); err != nil {
				c.warn(err)
			}
		}
		if o.has('v') {
			fmt.Fprintf(c.stdout, "mkdir: created directory '%s'\n", d)
		}
	}
	return nil
}

// rmdir dir...
func rmdir(c *call, args []string) error {
	o, dirs, err := getopt(args, "p", "")
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	for _, d := range dirs {
		for {
			if err := syscall.Rmdir(c.path(d)); err != nil {
				c.warnf("%s: %s", d, errnoText(err))
				break
			}
			if !o.has('p') {
				break
			}
			if d = filepath.Dir(d); d == "." || d == "/" {
				break
			}
		}
	}
	return nil
}

// rm [-rRf] file...
func rm(c *call, args []string) error {
	o, files, err := getopt(args, "rRfiv", "")
	if err != nil {
		return err
	}
	recursive, force := o.has('r') || o.has('R'), o.has('f')
	if len(files) == 0 {
		if force {
			return nil
		}
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if base == "." || base == ".." {
			c.warnf("refusing to remove '.' or '..' directory: skipping '%s'", f)
			continue
		}
		p := c.path(f)
		if filepath.Clean(p) == "/" {
			c.warnf("refusing to remove '/'")
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			if !(force && errors.Is(err, fs.ErrNotExist)) {
				c.warnf("cannot remove %s", describe(err))
			}
			continue
		}
		if fi.IsDir() {
			if !recursive {
				c.warnf("cannot remove '%s': Is a directory", f)
				continue
			}
			err = os.RemoveAll(p)
		} else {
			err = os.Remove(p)
		}
		if err != nil {
			c.warnf("cannot remove %s", describe(err))
		} else if o.has('v') {
			fmt.Fprintf(c.stdout, "removed '%s'\n", f)
		}
	}
	return nil
}

// ln [-sfn] target [link] | ln [-sfn] target... dir
func ln(c *call, args []string) error {
	o, ops, err := getopt(args, "sfnv", "")
	if err != nil {
		return err
	}
	switch len(ops) {
	case 0:
		return fmt.Errorf("missing operand: %w", ErrUsage)
	case 1:
		ops = append(ops, ".")
	}
	dest := ops[len(ops)-1]
	targets := ops[:len(ops)-1]
	destDir := isDir(c.path(dest), !o.has('n'))
	if len(targets) > 1 && !destDir {
		return fmt.Errorf("target '%s' is not a directory", dest)
	}
	for _, t := range targets {
		link := c.path(dest)
		if destDir {
			link = filepath.Join(link, filepath.Base(t))
		}
		if o.has('f') {
			if fi, err := os.Lstat(link); err == nil && !fi.IsDir() {
				if err := os.Remove(link); err != nil {
					c.warn(err)
					continue
				}
			}
		}
		if o.has('s') {
			err = os.Symlink(t, link)
		} else {
			err = os.Link(c.path(t), link)
		}
		if err != nil {
			c.warnf("cannot create link %s", describe(err))
		} else if o.has('v') {
			fmt.Fprintf(c.stdout, "'%s' -> '%s'\n", link, t)
		}
	}
	return nil
}

// isDir reports whether p is a directory, following a final symlink only
// when follow is set.
func isDir(p string, follow bool) bool {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(p)
	return err == nil && fi.IsDir()
}

// readlink [-f|-e|-m] [-n] file...
func readlink(c *call, args []string) error {
	o, files, err := getopt(args, "femnqsv", "")
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	end := "\n"
	if o.has('n') {
		end = ""
	}
	for _, f := range files {
		var out string
		switch {
		case o.has('f'):
			out, err = canonical(c.path(f), 'f')
		case o.has('e'):
			out, err = canonical(c.path(f), 'e')
		case o.has('m'):
			out, err = canonical(c.path(f), 'm')
		default:
			out, err = os.Readlink(c.path(f))
		}
		if err != nil {
			if o.has('v') {
				c.warn(err)
			}
			c.failed = true
			continue
		}
		fmt.Fprint(c.stdout, out+end)
	}
	return nil
}

// canonical resolves every symlink in the absolute path p, in the current
// root. mode is readlink's: 'e' needs every component to exist, 'f' all
// but the last, 'm' none.
func canonical(p string, mode byte) (string, error) {
	out := "/"
	rest := splitPath(p)
	for hops := 0; len(rest) > 0; {
		comp := rest[0]
		rest = rest[1:]
		if comp == ".." {
			out = filepath.Dir(out)
			continue
		}
		next := filepath.Join(out, comp)
		fi, err := os.Lstat(next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && (mode == 'm' || mode == 'f' && len(rest) == 0) {
				out = next
				continue
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > 255 {
				return "", &fs.PathError{Op: "readlink", Path: p, Err: syscall.ELOOP}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(target) {
				out = "/"
			}
			rest = append(splitPath(target), rest...)
			continue
		}
		if len(rest) > 0 && !fi.IsDir() && mode != 'm' {
			return "", &fs.PathError{Op: "readlink", Path: next, Err: syscall.ENOTDIR}
		}
		out = next
	}
	return out, nil
}

// splitPath returns the non-empty components of p other than ".".
func splitPath(p string) []string {
	var parts []string
	for part := range strings.SplitSeq(p, "/") {
		if part != "" && part != "." {
			parts = append(parts, part)
		}
	}
	return parts
}

// mktemp [-d] [-q] [-u] [-p dir] [-t] [template]
func mktemp(c *call, args []string) error {
	o, ops, err := getopt(args, "dqut", "p")
	if err != nil {
		return err
	}
	if len(ops) > 1 {
		return fmt.Errorf("too many templates: %w", ErrUsage)
	}
	template := "tmp.XXXXXXXXXX"
	if len(ops) == 1 {
		template = ops[0]
	}
	n := len(template) - len(strings.TrimRight(template, "X"))
	if n < 3 {
		return fmt.Errorf("too few X's in template '%s': %w", template, ErrUsage)
	}
	dir, hasDir := o.value('p')
	if !hasDir && (o.has('t') || len(ops) == 0 || !strings.Contains(template, "/")) {
		if dir = c.getenv("TMPDIR"); dir == "" {
			dir = "/tmp"
		}
	}
	base := c.path(filepath.Join(dir, template))
	if strings.Contains(template, "/") && !o.has('t') && !hasDir {
		base = c.path(template)
	}
	base = base[:len(base)-n]
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for range 100 {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = letters[int(b[i])%len(letters)]
		}
		p := base + string(b)
		switch {
		case o.has('u'):
			if _, err = os.Lstat(p); err == nil {
				continue
			}
			err = nil
		case o.has('d'):
			err = os.Mkdir(p, 0o700)
		default:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
				err = f.Close()
			}
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			if o.has('q') {
				c.failed = true
				return nil
			}
			return fmt.Errorf("cannot create %s", describe(err))
		}
		fmt.Fprintln(c.stdout, p)
		return nil
	}
	return fmt.Errorf("cannot create a unique name from '%s'", template)
}
