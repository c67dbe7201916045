package initproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Entry is one record of a container log.
type Entry struct {
	Stream Stream
	Time   time.Time
	// Data is the record's bytes: a whole line with its "\n" for a full
	// record, a piece of a line without one for a partial record.
	Data    []byte
	Partial bool
}

// maxLine bounds a log line, so that a corrupt file cannot make a reader
// hold it whole in memory. quilt-init's lines are at most headerLen +
// MaxRecord + 1 bytes.
const maxLine = 1 << 20

// ReadLog calls fn for each record read from r, in order, until r ends,
// fn returns an error (returned as is) or a line is malformed: the error
// then names the line (counted from 1 at the start of r) and wraps
// ErrMalformed. An unterminated last line is a record still being written
// and is left out.
func ReadLog(r io.Reader, fn func(Entry) error) error {
	p := logParser{fn: fn}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if perr := p.feed(buf[:n]); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
	}
}

// logParser splits a byte stream into lines and records; it keeps an
// unterminated line across feeds.
type logParser struct {
	fn    func(Entry) error
	line  int    // number of the last line handed to fn
	carry []byte // the start of an unterminated line
}

func (p *logParser) feed(b []byte) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(p.carry)+len(b) > maxLine {
				return fmt.Errorf("log line %d: %w: longer than %d bytes", p.line+1, ErrMalformed, maxLine)
			}
			p.carry = append(p.carry, b...)
			return nil
		}
		line := b[:i]
		if len(p.carry) > 0 {
			if len(p.carry)+i > maxLine {
				return fmt.Errorf("log line %d: %w: longer than %d bytes", p.line+1, ErrMalformed, maxLine)
			}
			p.carry = append(p.carry, line...)
			line = p.carry
		}
		b = b[i+1:]
		p.line++
		e, err := ParseRecord(line)
		p.carry = p.carry[:0]
		if err != nil {
			return fmt.Errorf("log line %d: %w", p.line, err)
		}
		if err := p.fn(e); err != nil {
			return err
		}
	}
	return nil
}

// ParseRecord parses one CRI log line without its newline:
// "TIME STREAM F|P DATA". The Entry's Data is a copy, with "\n" appended
// for a full record. An error wraps ErrMalformed.
func ParseRecord(line []byte) (Entry, error) {
	var e Entry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: no stream after the time", ErrMalformed)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: time %q", ErrMalformed, truncate(ts))
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: no tag after the stream", ErrMalformed)
	}
	switch string(stream) {
	case "stdout":
		e.Stream = Stdout
	case "stderr":
		e.Stream = Stderr
	default:
		return e, fmt.Errorf("%w: stream %q", ErrMalformed, truncate(stream))
	}
	// The data may be empty, and kubelet's writer leaves out the space
	// then.
	tag, data, _ := bytes.Cut(rest, []byte{' '})
	switch string(tag) {
	case "F":
		e.Data = make([]byte, len(data)+1)
		copy(e.Data, data)
		e.Data[len(data)] = '\n'
	case "P":
		e.Partial = true
		e.Data = bytes.Clone(data)
		if e.Data == nil {
			e.Data = []byte{}
		}
	default:
		return e, fmt.Errorf("%w: tag %q", ErrMalformed, truncate(tag))
	}
	e.Time = t
	return e, nil
}

// truncate shortens what a malformed-record error quotes.
func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// tailBlock is how much Tail reads at a time, backwards from the end.
var tailBlock = 32 << 10

// Tail returns the offset in f at which its last n records start: reading
// from there yields n records, or all of them when f holds fewer. It reads
// f backwards in blocks from its end, so its cost grows with n, not with
// the file. An unterminated last line does not count as a record. n <= 0
// returns the end of the last complete record.
func Tail(f *os.File, n int) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("tail log: %w", err)
	}
	size := fi.Size()
	buf := make([]byte, tailBlock)
	// Newlines to pass from the end: the terminator of the last record,
	// then one more per record.
	want := n + 1
	if n <= 0 {
		want = 1
	}
	pos := size
	for pos > 0 {
		start := max(pos-int64(len(buf)), 0)
		b := buf[:pos-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("tail log %s: %w", f.Name(), err)
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			want--
			if want == 0 {
				return start + int64(i) + 1, nil
			}
		}
		pos = start
	}
	return 0, nil
}
