package shell

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// finder is one find(1) run: its expression and the state of its actions.
type finder struct {
	c                  *call
	expr               []findPrimary
	minDepth, maxDepth int
	defaultPrint       bool
	batches            [][]string // -exec ... {} + commands, with the paths collected
	deletes            []string   // -delete, run deepest first at the end
	quit               bool
}

// findPrimary is one test or action; it reports whether the file matched.
type findPrimary struct {
	negate bool
	eval   func(path, abs string, fi fs.FileInfo) bool
}

// find [path...] [expression]
//
// The expression is a list of primaries joined by an implicit -a, each
// optionally preceded by ! or -not: -name, -iname, -path, -type, -user,
// -group, -newer, -empty, -mindepth, -maxdepth, and the actions -print,
// -print0, -exec ... ; and -exec ... {} +, -delete and -quit. -o and
// parentheses are not supported. Symlinks are not followed (-P).
func find(c *call, args []string) error {
	var starts []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "!" && args[0] != "(" {
		starts, args = append(starts, args[0]), args[1:]
	}
	if len(starts) == 0 {
		starts = []string{"."}
	}
	f := &finder{c: c, maxDepth: -1, defaultPrint: true}
	if err := f.parse(args); err != nil {
		return err
	}
	for _, start := range starts {
		f.walk(start)
		if f.quit {
			break
		}
	}
	for _, argv := range f.batches {
		if len(argv) > 0 && c.spawn(c, argv) != nil {
			c.failed = true
		}
	}
	for _, p := range slices.Backward(f.deletes) {
		if err := os.Remove(p); err != nil {
			c.warn(err)
		}
	}
	return nil
}

func (f *finder) walk(start string) {
	root := f.c.path(start)
	err := filepath.WalkDir(root, func(abs string, d fs.DirEntry, err error) error {
		if f.quit {
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(root, abs)
		display, depth := start, 0
		if rel != "." {
			display = strings.TrimSuffix(start, "/") + "/" + rel
			depth = strings.Count(rel, "/") + 1
		}
		if err != nil {
			f.c.warnf("'%s': %s", display, errnoText(unwrapPath(err)))
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			f.c.warnf("'%s': %s", display, errnoText(unwrapPath(err)))
			return nil
		}
		if depth >= f.minDepth {
			f.evaluate(display, abs, fi)
		}
		if d.IsDir() && f.maxDepth >= 0 && depth >= f.maxDepth {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		f.c.warn(err)
	}
}

func (f *finder) evaluate(path, abs string, fi fs.FileInfo) {
	for _, p := range f.expr {
		if p.eval(path, abs, fi) == p.negate || f.quit {
			return
		}
	}
	if f.defaultPrint {
		fmt.Fprintln(f.c.stdout, path)
	}
}

// parse turns the expression into primaries.
func (f *finder) parse(args []string) error {
	negate := false
	add := func(eval func(path, abs string, fi fs.FileInfo) bool) {
		f.expr = append(f.expr, findPrimary{negate: negate, eval: eval})
		negate = false
	}
	for len(args) > 0 {
		op := args[0]
		args = args[1:]
		value := func() (string, error) {
			if len(args) == 0 {
				return "", fmt.Errorf("missing argument to '%s': %w", op, ErrUsage)
			}
			v := args[0]
			args = args[1:]
			return v, nil
		}
		switch op {
		case "!", "-not":
			negate = !negate
			continue
		case "-a", "-and":
			continue
		case "-print", "-print0":
			end := "\n"
			if op == "-print0" {
				end = "\x00"
			}
			f.defaultPrint = false
			add(func(path, _ string, _ fs.FileInfo) bool {
				fmt.Fprint(f.c.stdout, path+end)
				return true
			})
			continue
		case "-quit":
			add(func(string, string, fs.FileInfo) bool {
				f.quit = true
				return true
			})
			continue
		case "-delete":
			f.defaultPrint = false
			add(func(_, abs string, _ fs.FileInfo) bool {
				f.deletes = append(f.deletes, abs)
				return true
			})
			continue
		case "-empty":
			add(func(_, abs string, fi fs.FileInfo) bool {
				if fi.IsDir() {
					ents, err := os.ReadDir(abs)
					return err == nil && len(ents) == 0
				}
				return fi.Mode().IsRegular() && fi.Size() == 0
			})
			continue
		case "-exec":
			f.defaultPrint = false
			if err := f.parseExec(&args, add); err != nil {
				return err
			}
			continue
		case "-o", "-or", "(", ")", "-prune":
			return fmt.Errorf("'%s' is not supported: %w", op, ErrUsage)
		}
		v, err := value()
		if err != nil {
			return err
		}
		switch op {
		case "-name", "-iname", "-path", "-wholename":
			fold := op == "-iname"
			re, err := globRegexp(v, fold)
			if err != nil {
				return fmt.Errorf("bad pattern '%s': %w", v, ErrUsage)
			}
			if op == "-name" || op == "-iname" {
				add(func(path, _ string, _ fs.FileInfo) bool { return re.MatchString(filepath.Base(path)) })
			} else {
				add(func(path, _ string, _ fs.FileInfo) bool { return re.MatchString(path) })
			}
		case "-type":
			want, ok := map[string]fs.FileMode{"f": 0, "d": fs.ModeDir, "l": fs.ModeSymlink, "p": fs.ModeNamedPipe,
				"s": fs.ModeSocket, "c": fs.ModeDevice | fs.ModeCharDevice, "b": fs.ModeDevice}[v]
			if !ok {
				return fmt.Errorf("unknown type '%s': %w", v, ErrUsage)
			}
			add(func(_, _ string, fi fs.FileInfo) bool { return fi.Mode().Type() == want })
		case "-user", "-group":
			id, err := findOwner(op, v)
			if err != nil {
				return err
			}
			add(func(_, _ string, fi fs.FileInfo) bool {
				st, ok := fi.Sys().(*syscall.Stat_t)
				if !ok {
					return false
				}
				if op == "-user" {
					return int(st.Uid) == id
				}
				return int(st.Gid) == id
			})
		case "-newer":
			ref, err := os.Stat(f.c.path(v))
			if err != nil {
				return errors.New(describe(relPathError(err, v)))
			}
			add(func(_, _ string, fi fs.FileInfo) bool { return fi.ModTime().After(ref.ModTime()) })
		case "-maxdepth", "-mindepth":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("invalid depth '%s': %w", v, ErrUsage)
			}
			if op == "-maxdepth" {
				f.maxDepth = n
			} else {
				f.minDepth = n
			}
		default:
			return fmt.Errorf("unknown predicate '%s': %w", op, ErrUsage)
		}
	}
	return nil
}

// parseExec parses "-exec cmd args... ;" (run per file, true when the
// command succeeds) and "-exec cmd args... {} +" (run once at the end with
// every file, always true).
func (f *finder) parseExec(args *[]string, add func(func(path, abs string, fi fs.FileInfo) bool)) error {
	var argv []string
	for i, a := range *args {
		switch {
		case a == ";":
			*args = (*args)[i+1:]
			if len(argv) == 0 {
				return fmt.Errorf("-exec needs a command: %w", ErrUsage)
			}
			add(func(path, _ string, _ fs.FileInfo) bool {
				run := make([]string, len(argv))
				for j, w := range argv {
					run[j] = strings.ReplaceAll(w, "{}", path)
				}
				return f.c.spawn(f.c, run) == nil
			})
			return nil
		case a == "+" && len(argv) > 0 && argv[len(argv)-1] == "{}":
			*args = (*args)[i+1:]
			idx := len(f.batches)
			f.batches = append(f.batches, nil)
			prefix := argv[:len(argv)-1]
			if len(prefix) == 0 {
				return fmt.Errorf("-exec needs a command: %w", ErrUsage)
			}
			add(func(path, _ string, _ fs.FileInfo) bool {
				if f.batches[idx] == nil {
					f.batches[idx] = slices.Clone(prefix)
				}
				f.batches[idx] = append(f.batches[idx], path)
				return true
			})
			return nil
		}
		argv = append(argv, a)
	}
	return fmt.Errorf("-exec needs a terminating ';' or '{} +': %w", ErrUsage)
}

func findOwner(op, v string) (int, error) {
	var id int
	var err error
	if op == "-user" {
		id, err = lookupID(v, user.Lookup, func(u *user.User) string { return u.Uid })
	} else {
		id, err = lookupID(v, user.LookupGroup, func(g *user.Group) string { return g.Gid })
	}
	if err != nil {
		return 0, fmt.Errorf("%s '%s' is not known", strings.TrimPrefix(op, "-"), v)
	}
	return id, nil
}

// globRegexp translates a shell pattern (*, ?, [...] with ! or ^, \x) to
// an anchored regexp in which * also matches '/', as find's -path wants.
func globRegexp(pattern string, fold bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^(?s:")
	for i := 0; i < len(pattern); i++ {
		switch ch := pattern[i]; ch {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+1 < len(pattern) {
				i++
			}
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case '[':
			p := pattern
			if i+1 < len(p) && p[i+1] == '!' {
				p = p[:i+1] + "^" + p[i+2:]
			}
			i = copyBracket(&b, p, i)
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString(")$")
	return regexp.Compile(b.String())
}
