package initproto

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// Stream names the output stream of a log record; the numbers are those of
// the Stream enum in api/quilt/v1.
type Stream int

const (
	Stdout Stream = 1
	Stderr Stream = 2
)

// String returns "stdout" or "stderr", as the CRI log format writes them.
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "stream" + strconv.Itoa(int(s))
}

// MaxRecord is the most data one log record holds: a longer line is cut
// into partial (P) records of MaxRecord bytes, as kubelet does.
const MaxRecord = 16 << 10

// The CRI log format, one record a line:
//
//	2026-11-28T13:50:00.123456789Z stdout F text
//
// quilt-init writes the time always with nine fraction digits so that every
// header is headerLen bytes long.
const (
	timeLayout = "2006-01-02T15:04:05.000000000Z"
	headerLen  = len(timeLayout) + len(" stdout F ")
)

// LogWriter turns what a process writes to one stream into log records,
// each written with a single write(2), so that records of both streams
// appended to one O_APPEND file never interleave. It keeps an unfinished
// line until its newline arrives, MaxRecord bytes of it accumulate or Flush
// is called. A LogWriter is not safe for concurrent use; use one per stream.
type LogWriter struct {
	f      *os.File
	stream Stream
	// rec holds a record: headerLen bytes of header, then the pending
	// line, then room for its newline.
	rec []byte
	n   int // bytes of pending line in rec after the header
	now func() time.Time
}

// NewLogWriter returns a LogWriter appending records of stream s to f.
func NewLogWriter(f *os.File, s Stream) *LogWriter {
	return &LogWriter{f: f, stream: s, now: time.Now}
}

// Write logs every complete line of p as a full (F) record and keeps the
// rest for the next Write. It returns len(p) and the first write error;
// a record that fails to be written is dropped, so that a full disk never
// blocks the process that logs.
func (w *LogWriter) Write(p []byte) (int, error) {
	if w.rec == nil {
		w.rec = make([]byte, headerLen+MaxRecord+1)
	}
	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	total := len(p)
	for len(p) > 0 {
		room := MaxRecord - w.n
		i := indexNewline(p, room)
		if i >= 0 {
			w.n += copy(w.rec[headerLen+w.n:], p[:i])
			keep(w.emit('F'))
			p = p[i+1:]
			continue
		}
		if len(p) <= room {
			w.n += copy(w.rec[headerLen+w.n:], p)
			break
		}
		// More than MaxRecord bytes without a newline: the first
		// MaxRecord of them are a partial record.
		w.n += copy(w.rec[headerLen+w.n:], p[:room])
		p = p[room:]
		keep(w.emit('P'))
	}
	return total, firstErr
}

// Flush writes the pending unfinished line, if any, as a partial record.
func (w *LogWriter) Flush() error {
	if w.n == 0 {
		return nil
	}
	return w.emit('P')
}

// WriteLine logs msg as one complete record, for quilt-init's own messages.
// It does not disturb a pending line.
func (w *LogWriter) WriteLine(msg string) error {
	rec := make([]byte, headerLen, headerLen+len(msg)+1)
	w.header(rec, 'F')
	rec = append(append(rec, msg...), '\n')
	_, err := w.f.Write(rec)
	return err
}

// indexNewline returns the index of the first '\n' in p within the first
// limit+1 bytes (a line of exactly limit bytes plus its newline is one
// record), or -1.
func indexNewline(p []byte, limit int) int {
	if len(p) > limit+1 {
		p = p[:limit+1]
	}
	return bytes.IndexByte(p, '\n')
}

// emit writes the pending line as a record tagged tag and empties it.
func (w *LogWriter) emit(tag byte) error {
	w.header(w.rec, tag)
	end := headerLen + w.n
	w.rec[end] = '\n'
	w.n = 0
	_, err := w.f.Write(w.rec[:end+1])
	return err
}

// header fills rec[:headerLen] with the time, the stream and tag.
func (w *LogWriter) header(rec []byte, tag byte) {
	t := w.now().UTC().AppendFormat(rec[:0], timeLayout)
	s := " stdout "
	if w.stream == Stderr {
		s = " stderr "
	}
	n := len(t)
	n += copy(rec[n:], s)
	rec[n] = tag
	rec[n+1] = ' '
}
