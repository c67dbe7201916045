package shell

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/interp"
)

// grep [-EFGcHhiLlnoqrRsvwx] [-m max] [-e pattern]... [-f file]... [pattern] [file...]
//
// Patterns are POSIX basic (default) or extended (-E) regular expressions,
// translated to Go's RE2 syntax with leftmost-longest matching. Back-
// references are not supported.
func grep(c *call, args []string) error {
	o, ops, err := getopt(args, "EFGcHhiLlnoqrRsvwxyz", "efm")
	if err != nil {
		return err
	}
	patterns := o.values['e']
	for _, f := range o.values['f'] {
		data, err := os.ReadFile(c.path(f))
		if err != nil {
			return fmt.Errorf("%s", describe(relPathError(err, f)))
		}
		patterns = append(patterns, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
	}
	if !o.has('e') && !o.has('f') {
		if len(ops) == 0 {
			return fmt.Errorf("no pattern: %w", ErrUsage)
		}
		patterns, ops = strings.Split(ops[0], "\n"), ops[1:]
	}
	re, err := compileGrep(patterns, o.has('E'), o.has('F'), o.has('i') || o.has('y'), o.has('w'), o.has('x'))
	if err != nil {
		return fmt.Errorf("%v: %w", err, ErrUsage)
	}
	g := &grepper{c: c, re: re, o: o, max: -1}
	if v, ok := o.value('m'); ok {
		if g.max, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("invalid max count '%s': %w", v, ErrUsage)
		}
	}
	recursive := o.has('r') || o.has('R')
	if recursive && len(ops) == 0 {
		ops = []string{"."}
	}
	g.names = (len(ops) > 1 || recursive || o.has('H')) && !o.has('h')
	if len(ops) == 0 {
		ops = []string{"-"}
	}
	for _, op := range ops {
		if op == "-" {
			g.file("(standard input)", c.stdin)
			continue
		}
		p := c.path(op)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			if !recursive {
				g.warnf("%s: Is a directory", op)
				continue
			}
			_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
				if err != nil {
					g.warnf("%s", describe(err))
					return nil
				}
				if d.Type().IsRegular() {
					name := filepath.Join(op, strings.TrimPrefix(q, p))
					g.open(name, q)
				}
				return nil
			})
			continue
		}
		g.open(op, p)
	}
	switch {
	case g.quit: // -q and a match: errors do not count
		return nil
	case g.failed:
		return interp.ExitStatus(2)
	case !g.matched:
		return interp.ExitStatus(1)
	}
	return nil
}

type grepper struct {
	c       *call
	re      *regexp.Regexp
	o       options
	max     int64
	names   bool
	matched bool // some line was selected
	failed  bool // some file could not be read
	quit    bool // -q found a match
}

func (g *grepper) warnf(format string, args ...any) {
	g.failed = true
	if !g.o.has('s') {
		fmt.Fprintf(g.c.stderr, "grep: "+format+"\n", args...)
	}
}

func (g *grepper) open(name, path string) {
	f, err := os.Open(path)
	if err != nil {
		g.warnf("%s", describe(relPathError(err, name)))
		return
	}
	defer f.Close()
	g.file(name, f)
}

func (g *grepper) file(name string, r io.Reader) {
	if g.quit {
		return
	}
	o := g.o
	w := bufio.NewWriter(g.c.stdout)
	defer w.Flush()
	br := bufio.NewReader(r)
	var count int64
	for lineNo := 1; ; lineNo++ {
		if g.max >= 0 && count >= g.max {
			break
		}
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			break
		}
		text := strings.TrimSuffix(line, "\n")
		if g.re.MatchString(text) == o.has('v') {
			if err != nil {
				break
			}
			continue
		}
		count++
		g.matched = true
		if o.has('q') {
			g.quit = true
			return
		}
		if o.has('l') || o.has('L') {
			break
		}
		if o.has('c') {
			continue
		}
		lead := ""
		if g.names {
			lead = name + ":"
		}
		if o.has('n') {
			lead += strconv.Itoa(lineNo) + ":"
		}
		if o.has('o') && !o.has('v') {
			for _, m := range g.re.FindAllString(text, -1) {
				if m != "" {
					fmt.Fprintf(w, "%s%s\n", lead, m)
				}
			}
		} else {
			fmt.Fprintf(w, "%s%s\n", lead, text)
		}
		if err != nil {
			break
		}
	}
	switch {
	case o.has('l') && count > 0, o.has('L') && count == 0:
		fmt.Fprintln(w, name)
	case o.has('c') && !o.has('l') && !o.has('L'):
		if g.names {
			fmt.Fprintf(w, "%s:", name)
		}
		fmt.Fprintln(w, count)
	}
	if o.has('L') {
		g.matched = count == 0 || g.matched
	}
}

// compileGrep builds one regexp that matches a line when any pattern does.
func compileGrep(patterns []string, extended, fixed, fold, word, whole bool) (*regexp.Regexp, error) {
	alts := make([]string, 0, len(patterns))
	for _, p := range patterns {
		if !utf8.ValidString(p) {
			return nil, fmt.Errorf("pattern %q is not valid UTF-8", p)
		}
		var re string
		switch {
		case fixed:
			re = regexp.QuoteMeta(p)
		case extended:
			re = convertERE(p)
		default:
			var err error
			if re, err = convertBRE(p); err != nil {
				return nil, err
			}
		}
		alts = append(alts, "(?:"+re+")")
	}
	re := strings.Join(alts, "|")
	switch {
	case whole:
		re = "^(?:" + re + ")$"
	case word:
		re = `\b(?:` + re + `)\b`
	}
	if fold {
		re = "(?i)" + re
	}
	compiled, err := regexp.Compile(re)
	if err != nil {
		return nil, err
	}
	compiled.Longest()
	return compiled, nil
}

// convertBRE translates a POSIX basic regular expression to RE2 syntax.
// In a BRE, \( \) \{ \} are groups and intervals and ( ) { } | + ? are
// plain characters; GNU's \| \+ \? are alternation and repetition. * is
// literal at the start, ^ only anchors at the start and $ at the end.
func convertBRE(p string) (string, error) {
	var b strings.Builder
	start := true // at the start of the RE or of a group or alternative
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\\' && i+1 < len(p):
			i++
			next := p[i]
			switch {
			case strings.IndexByte("(){}|+?", next) >= 0:
				b.WriteByte(next)
				start = next == '(' || next == '|'
				continue
			case next >= '1' && next <= '9':
				return "", fmt.Errorf("back-reference \\%c is not supported", next)
			case next == '<' || next == '>':
				b.WriteString(`\b`)
			case strings.IndexByte("wWsSbB", next) >= 0:
				b.WriteByte('\\')
				b.WriteByte(next)
			default:
				b.WriteString(regexp.QuoteMeta(string(next)))
			}
		case ch == '[':
			i = copyBracket(&b, p, i)
		case ch == '*' && start:
			b.WriteString(`\*`)
		case ch == '^' && !start:
			b.WriteString(`\^`)
		case ch == '$' && i+1 < len(p) && !strings.HasPrefix(p[i+1:], `\)`) && !strings.HasPrefix(p[i+1:], `\|`):
			b.WriteString(`\$`)
		case strings.IndexByte("(){}|+?", ch) >= 0:
			b.WriteByte('\\')
			b.WriteByte(ch)
		default:
			b.WriteByte(ch)
		}
		start = ch == '^' && start
	}
	return b.String(), nil
}

// convertERE translates a POSIX extended regular expression: bracket
// expressions differ, where a backslash is an ordinary character, and
// GNU's word anchors \< and \> become \b.
func convertERE(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			if p[i+1] == '<' || p[i+1] == '>' {
				b.WriteString(`\b`)
			} else {
				b.WriteString(p[i : i+2])
			}
			i++
		case p[i] == '[':
			i = copyBracket(&b, p, i)
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// copyBracket copies the bracket expression that starts at p[i] and
// returns the index of its closing ']'. A ']' first in the list is a
// member, [:class:] is kept, and a backslash is escaped for RE2.
func copyBracket(b *strings.Builder, p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for j < len(p) && p[j] != ']' {
		if p[j] == '[' && j+1 < len(p) && (p[j+1] == ':' || p[j+1] == '.' || p[j+1] == '=') {
			if end := strings.Index(p[j+2:], string(p[j+1])+"]"); end >= 0 {
				j += end + 4
				continue
			}
		}
		j++
	}
	if j >= len(p) {
		b.WriteString(regexp.QuoteMeta(p[i:])) // no closing ']': literal text
		return len(p) - 1
	}
	body := p[i+1 : j]
	b.WriteByte('[')
	if strings.HasPrefix(body, "^") {
		b.WriteByte('^')
		body = body[1:]
	}
	if strings.HasPrefix(body, "]") {
		b.WriteString(`\]`)
		body = body[1:]
	}
	b.WriteString(strings.ReplaceAll(body, `\`, `\\`))
	b.WriteByte(']')
	return j
}
