package shell

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"mvdan.cc/sh/v3/interp"
)

// lsEntry is one name that ls prints.
type lsEntry struct {
	name string // as printed
	path string // absolute
	fi   fs.FileInfo
}

// lister holds ls's options and its caches.
type lister struct {
	c                          *call
	long, numeric, all, almost bool
	classify, follow, dirOnly  bool
	recursive, reverse         bool
	byTime, bySize, human      bool
	names                      map[string]string // "u123"/"g123" -> name
	now                        time.Time
}

// ls [-1aAdFhlLnRrSt] [file...]
func ls(c *call, args []string) error {
	o, ops, err := getopt(args, "1aAdFhlLnRrSt", "")
	if err != nil {
		return err
	}
	l := &lister{
		c: c, long: o.has('l') || o.has('n'), numeric: o.has('n'),
		all: o.has('a'), almost: o.has('A'), classify: o.has('F'),
		follow: o.has('L'), dirOnly: o.has('d'), recursive: o.has('R'),
		reverse: o.has('r'), byTime: o.has('t'), bySize: o.has('S'),
		human: o.has('h'), names: map[string]string{}, now: time.Now(),
	}
	if len(ops) == 0 {
		ops = []string{"."}
	}
	var files, dirs []lsEntry
	for _, op := range ops {
		p := c.path(op)
		fi, err := l.stat(p, true)
		if err != nil {
			c.warnf("cannot access '%s': %s", op, errnoText(unwrapPath(err)))
			continue
		}
		e := lsEntry{name: op, path: p, fi: fi}
		if fi.IsDir() && !l.dirOnly {
			dirs = append(dirs, e)
		} else {
			files = append(files, e)
		}
	}
	l.sort(files)
	l.sort(dirs)
	for _, e := range files {
		l.print(e)
	}
	header := len(files)+len(dirs) > 1 || l.recursive
	for i, d := range dirs {
		if i > 0 || len(files) > 0 {
			fmt.Fprintln(c.stdout)
		}
		l.listDir(d, header)
	}
	if c.failed {
		return interp.ExitStatus(2)
	}
	return nil
}

// stat stats p, following a final symlink with -L, and for operands also
// when the symlink points to a directory (as ls does without -l).
func (l *lister) stat(p string, operand bool) (fs.FileInfo, error) {
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return fi, err
	}
	if l.follow || (operand && !l.long && !l.dirOnly) {
		if target, err := os.Stat(p); err == nil {
			return target, nil
		}
	}
	return fi, nil
}

func (l *lister) listDir(d lsEntry, header bool) {
	if header {
		fmt.Fprintf(l.c.stdout, "%s:\n", d.name)
	}
	ents, err := os.ReadDir(d.path)
	if err != nil {
		l.c.warnf("cannot open directory '%s': %s", d.name, errnoText(unwrapPath(err)))
		return
	}
	var list []lsEntry
	if l.all {
		for _, dot := range []string{".", ".."} {
			if fi, err := os.Stat(filepath.Join(d.path, dot)); err == nil {
				list = append(list, lsEntry{name: dot, path: filepath.Join(d.path, dot), fi: fi})
			}
		}
	}
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".") && !l.all && !l.almost {
			continue
		}
		p := filepath.Join(d.path, de.Name())
		fi, err := l.stat(p, false)
		if err != nil {
			l.c.warnf("cannot access '%s': %s", filepath.Join(d.name, de.Name()), errnoText(unwrapPath(err)))
			continue
		}
		list = append(list, lsEntry{name: de.Name(), path: p, fi: fi})
	}
	l.sort(list)
	if l.long {
		var blocks int64
		for _, e := range list {
			if st, ok := e.fi.Sys().(*syscall.Stat_t); ok {
				blocks += st.Blocks
			}
		}
		fmt.Fprintf(l.c.stdout, "total %d\n", blocks/2)
	}
	for _, e := range list {
		l.print(e)
	}
	if !l.recursive {
		return
	}
	for _, e := range list {
		if e.fi.IsDir() && e.name != "." && e.name != ".." {
			fmt.Fprintln(l.c.stdout)
			l.listDir(lsEntry{name: filepath.Join(d.name, e.name), path: e.path, fi: e.fi}, true)
		}
	}
}

func (l *lister) sort(list []lsEntry) {
	slices.SortStableFunc(list, func(a, b lsEntry) int {
		var r int
		switch {
		case l.byTime:
			r = b.fi.ModTime().Compare(a.fi.ModTime())
		case l.bySize:
			r = int(min(max(b.fi.Size()-a.fi.Size(), -1), 1))
		}
		if r == 0 {
			r = strings.Compare(a.name, b.name)
		}
		if l.reverse {
			r = -r
		}
		return r
	})
}

func (l *lister) print(e lsEntry) {
	name := e.name
	if l.classify {
		name += classifier(e.fi)
	}
	if !l.long {
		fmt.Fprintln(l.c.stdout, name)
		return
	}
	var nlink uint64 = 1
	uid, gid := -1, -1
	size := strconv.FormatInt(e.fi.Size(), 10)
	if st, ok := e.fi.Sys().(*syscall.Stat_t); ok {
		nlink, uid, gid = uint64(st.Nlink), int(st.Uid), int(st.Gid)
		if e.fi.Mode()&fs.ModeDevice != 0 {
			size = fmt.Sprintf("%d, %d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
		}
	}
	if l.human && e.fi.Mode()&fs.ModeDevice == 0 {
		size = humanSize(e.fi.Size())
	}
	when := e.fi.ModTime()
	stamp := when.Format("Jan _2 15:04")
	if when.Before(l.now.AddDate(0, -6, 0)) || when.After(l.now.Add(time.Hour)) {
		stamp = when.Format("Jan _2  2006")
	}
	if e.fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(e.path)
		if err == nil {
			name += " -> " + target
			if _, err := os.Stat(e.path); err != nil {
				name += " (dangling)"
			}
		}
	}
	fmt.Fprintf(l.c.stdout, "%s %2d %-8s %-8s %8s %s %s\n", modeString(e.fi.Mode()), nlink,
		l.owner('u', uid), l.owner('g', gid), size, stamp, name)
}

// owner names a uid or gid from /etc/passwd and /etc/group, or prints the
// number when there is no name (or with -n).
func (l *lister) owner(kind byte, id int) string {
	num := strconv.Itoa(id)
	if l.numeric || id < 0 {
		return num
	}
	key := string(kind) + num
	if n, ok := l.names[key]; ok {
		return n
	}
	n := num
	if kind == 'u' {
		if u, err := user.LookupId(num); err == nil {
			n = u.Username
		}
	} else if g, err := user.LookupGroupId(num); err == nil {
		n = g.Name
	}
	l.names[key] = n
	return n
}

// modeString renders a mode as ls -l does: "drwxr-sr-t".
func modeString(m fs.FileMode) string {
	b := []byte("-rwxrwxrwx")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	}
	for i := range 9 {
		if m&(1<<uint(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := func(i int, set bool, lower, upper byte) {
		if !set {
			return
		}
		if b[i] == 'x' {
			b[i] = lower
		} else {
			b[i] = upper
		}
	}
	special(3, m&fs.ModeSetuid != 0, 's', 'S')
	special(6, m&fs.ModeSetgid != 0, 's', 'S')
	special(9, m&fs.ModeSticky != 0, 't', 'T')
	return string(b)
}

func classifier(fi fs.FileInfo) string {
	m := fi.Mode()
	switch {
	case m.IsDir():
		return "/"
	case m&fs.ModeSymlink != 0:
		return "@"
	case m&fs.ModeNamedPipe != 0:
		return "|"
	case m&fs.ModeSocket != 0:
		return "="
	case m.IsRegular() && m&0o111 != 0:
		return "*"
	}
	return ""
}

func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	f := float64(n)
	for _, unit := range []string{"K", "M", "G", "T", "P"} {
		f /= 1024
		if f < 1024 || unit == "P" {
			if f < 10 {
				return fmt.Sprintf("%.1f%s", f, unit)
			}
			return fmt.Sprintf("%.0f%s", f, unit)
		}
	}
	return strconv.FormatInt(n, 10)
}

// unwrapPath returns the errno inside a *fs.PathError.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
