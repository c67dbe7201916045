package shell

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// eachInput opens each operand ("-" or none: stdin) and calls fn with it.
// A file that cannot be opened is reported and skipped.
func eachInput(c *call, files []string, fn func(name string, r io.Reader) error) error {
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, f := range files {
		if f == "-" {
			if err := fn(f, c.stdin); err != nil {
				return err
			}
			continue
		}
		fh, err := os.Open(c.path(f))
		if err != nil {
			c.warn(relPathError(err, f))
			continue
		}
		err = fn(f, fh)
		fh.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// relPathError names an operand as the user gave it, not as an absolute
// path.
func relPathError(err error, name string) error {
	if pe, ok := err.(*os.PathError); ok {
		return &os.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	return err
}

// cat [-u] [file...]
func cat(c *call, args []string) error {
	_, files, err := getopt(args, "u", "")
	if err != nil {
		return err
	}
	return eachInput(c, files, func(name string, r io.Reader) error {
		if _, err := io.Copy(c.stdout, r); err != nil {
			c.warnf("%s: %v", name, err)
		}
		return nil
	})
}

// tee [-a] [file...]
func tee(c *call, args []string) error {
	o, files, err := getopt(args, "ai", "")
	if err != nil {
		return err
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if o.has('a') {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	writers := []io.Writer{c.stdout}
	for _, f := range files {
		fh, err := os.OpenFile(c.path(f), flag, 0o666)
		if err != nil {
			c.warn(relPathError(err, f))
			continue
		}
		defer fh.Close()
		writers = append(writers, fh)
	}
	_, err = io.Copy(io.MultiWriter(writers...), c.stdin)
	return err
}

// countArg turns the obsolete "-5" into "-n 5" for head and tail.
func countArg(args []string) []string {
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "0123456789") == "" {
		return append([]string{"-n", args[0][1:]}, args[1:]...)
	}
	return args
}

// head [-n lines | -c bytes] [-qv] [file...]
func head(c *call, args []string) error {
	o, files, err := getopt(countArg(args), "qv", "nc")
	if err != nil {
		return err
	}
	lines, bytesMode := int64(10), false
	if v, ok := o.value('c'); ok {
		bytesMode = true
		if lines, err = parseCount(v); err != nil {
			return err
		}
	} else if v, ok := o.value('n'); ok {
		if lines, err = parseCount(v); err != nil {
			return err
		}
	}
	headers := (len(files) > 1 || o.has('v')) && !o.has('q')
	first := true
	return eachInput(c, files, func(name string, r io.Reader) error {
		printHeader(c, name, headers, &first)
		if bytesMode {
			_, err := io.CopyN(c.stdout, r, lines)
			if err == io.EOF {
				err = nil
			}
			return err
		}
		br := bufio.NewReader(r)
		for i := int64(0); i < lines; i++ {
			line, err := br.ReadBytes('\n')
			if _, werr := c.stdout.Write(line); werr != nil {
				return werr
			}
			if err != nil {
				break
			}
		}
		return nil
	})
}

func printHeader(c *call, name string, headers bool, first *bool) {
	if !headers {
		return
	}
	if name == "-" {
		name = "standard input"
	}
	if !*first {
		fmt.Fprintln(c.stdout)
	}
	*first = false
	fmt.Fprintf(c.stdout, "==> %s <==\n", name)
}

func parseCount(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid number '%s': %w", v, ErrUsage)
	}
	return n, nil
}

// tail [-n [+]lines | -c [+]bytes] [-f] [-qv] [file...]
func tail(c *call, args []string) error {
	o, files, err := getopt(countArg(args), "fFqv", "nc")
	if err != nil {
		return err
	}
	count, fromStart, bytesMode := int64(10), false, false
	spec, ok := o.value('n')
	if v, okc := o.value('c'); okc {
		spec, ok, bytesMode = v, true, true
	}
	if ok {
		fromStart = strings.HasPrefix(spec, "+")
		if count, err = parseCount(spec); err != nil {
			return err
		}
	}
	follow := o.has('f') || o.has('F')
	headers := (len(files) > 1 || o.has('v')) && !o.has('q')
	first := true
	var followed []*os.File
	err = eachInput(c, files, func(name string, r io.Reader) error {
		printHeader(c, name, headers, &first)
		if err := tailCopy(c.stdout, r, count, fromStart, bytesMode); err != nil {
			return err
		}
		if f, ok := r.(*os.File); ok && follow && name != "-" {
			if dup, err := os.Open(f.Name()); err == nil {
				off, _ := f.Seek(0, io.SeekCurrent)
				_, _ = dup.Seek(off, io.SeekStart)
				followed = append(followed, dup)
			}
		}
		return nil
	})
	if err != nil || !follow {
		return err
	}
	if len(files) == 0 || (len(files) == 1 && files[0] == "-") {
		return nil // POSIX: -f is ignored for a pipe on stdin
	}
	defer func() {
		for _, f := range followed {
			f.Close()
		}
	}()
	return followFiles(c.ctx, c.stdout, followed)
}

// tailCopy writes the end of r: the last count lines or bytes, or
// everything from line or byte count on (counting from 1) if fromStart.
func tailCopy(w io.Writer, r io.Reader, count int64, fromStart, bytesMode bool) error {
	if fromStart {
		skip := max(count-1, 0)
		if bytesMode {
			if _, err := io.CopyN(io.Discard, r, skip); err != nil {
				return nil
			}
			_, err := io.Copy(w, r)
			return err
		}
		br := bufio.NewReader(r)
		for ; skip > 0; skip-- {
			if _, err := br.ReadBytes('\n'); err != nil {
				return nil
			}
		}
		_, err := io.Copy(w, br)
		return err
	}
	if bytesMode {
		ring := make([]byte, 0, count)
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			ring = append(ring, buf[:n]...)
			if int64(len(ring)) > count {
				ring = ring[int64(len(ring))-count:]
			}
			if err != nil {
				break
			}
		}
		_, err := w.Write(ring)
		return err
	}
	if count == 0 {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	ring := make([][]byte, 0, min(count, 1024))
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if int64(len(ring)) == count {
				ring = append(ring[:0], ring[1:]...)
			}
			ring = append(ring, line)
		}
		if err != nil {
			break
		}
	}
	_, err := w.Write(bytes.Join(ring, nil))
	return err
}

// followFiles copies what is appended to files until ctx ends, as tail -f.
// With nothing to follow (tail -f /dev/null) it just waits.
func followFiles(ctx context.Context, w io.Writer, files []*os.File) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, f := range files {
			if _, err := io.Copy(w, f); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// wc [-clmw] [file...]
func wc(c *call, args []string) error {
	o, files, err := getopt(args, "clmwL", "")
	if err != nil {
		return err
	}
	cols := []byte{}
	for _, f := range []byte("lwmcL") {
		if o.has(f) {
			cols = append(cols, f)
		}
	}
	if len(cols) == 0 {
		cols = []byte("lwc")
	}
	var total [256]int64
	n := 0
	print := func(counts *[256]int64, name string) {
		var b strings.Builder
		for i, col := range cols {
			switch {
			case len(cols) == 1:
				fmt.Fprintf(&b, "%d", counts[col])
			case i == 0:
				fmt.Fprintf(&b, "%9d", counts[col])
			default:
				fmt.Fprintf(&b, " %9d", counts[col])
			}
		}
		if name != "-" {
			b.WriteString(" " + name)
		}
		fmt.Fprintln(c.stdout, b.String())
	}
	err = eachInput(c, files, func(name string, r io.Reader) error {
		var counts [256]int64
		br := bufio.NewReader(r)
		inWord := false
		var lineLen int64
		for {
			ru, size, err := br.ReadRune()
			if err != nil {
				break
			}
			counts['c'] += int64(size)
			counts['m']++
			switch {
			case ru == '\n':
				counts['l']++
				counts['L'] = max(counts['L'], lineLen)
				lineLen = 0
			default:
				lineLen++
			}
			space := ru == ' ' || ru == '\n' || ru == '\t' || ru == '\r' || ru == '\v' || ru == '\f'
			if !space && !inWord {
				counts['w']++
			}
			inWord = !space
		}
		counts['L'] = max(counts['L'], lineLen)
		for _, col := range []byte("lwmc") {
			total[col] += counts[col]
		}
		total['L'] = max(total['L'], counts['L'])
		n++
		print(&counts, name)
		return nil
	})
	if n > 1 {
		print(&total, "total")
	}
	return err
}

// basename string [suffix] | basename -a [-s suffix] string...
func basenameUtil(c *call, args []string) error {
	o, ops, err := getopt(args, "az", "s")
	if err != nil {
		return err
	}
	suffix, multi := o.value('s')
	multi = multi || o.has('a')
	if len(ops) == 0 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	if !multi {
		if len(ops) > 2 {
			return fmt.Errorf("extra operand '%s': %w", ops[2], ErrUsage)
		}
		if len(ops) == 2 {
			suffix = ops[1]
		}
		ops = ops[:1]
	}
	for _, op := range ops {
		b := filepath.Base(op)
		if op == "" {
			b = ""
		}
		if suffix != "" && b != suffix {
			b = strings.TrimSuffix(b, suffix)
		}
		fmt.Fprintln(c.stdout, b)
	}
	return nil
}

// dirname string...
func dirnameUtil(c *call, args []string) error {
	_, ops, err := getopt(args, "z", "")
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	for _, op := range ops {
		if strings.Trim(op, "/") != "" {
			op = strings.TrimRight(op, "/")
		}
		fmt.Fprintln(c.stdout, filepath.Dir(op))
	}
	return nil
}
