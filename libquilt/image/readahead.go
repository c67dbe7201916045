package image

import (
	"io"
	"sync"
)

// Read-ahead buffers: depth chunks of chunkSize bytes per stream.
const (
	chunkSize = 1 << 20
	depth     = 4
)

// readahead reads a stream in a goroutine of its own, a few chunks ahead
// of its reader, so that decompression and hashing run beside the writes
// of the extraction.
type readahead struct {
	full, free chan []byte
	stop       chan struct{}
	done       sync.WaitGroup
	cur, buf   []byte
	err        error // set before full is closed
}

func newReadahead(r io.Reader) *readahead {
	ra := &readahead{
		full: make(chan []byte, depth),
		free: make(chan []byte, depth+1),
		stop: make(chan struct{}),
	}
	for range depth + 1 {
		ra.free <- make([]byte, chunkSize)
	}
	ra.done.Add(1)
	go ra.fill(r)
	return ra
}

func (ra *readahead) fill(r io.Reader) {
	defer ra.done.Done()
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := readFull(r, buf)
		if n > 0 {
			select {
			case ra.full <- buf[:n]:
			case <-ra.stop:
				return
			}
		}
		if err != nil {
			ra.err = err
			return
		}
	}
}

// readFull fills buf from r unless r ends or fails first. Unlike
// io.ReadFull it leaves errors as they are: a decoder's
// io.ErrUnexpectedEOF stays an error, io.EOF alone is a clean end.
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (ra *readahead) Read(p []byte) (int, error) {
	if len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		buf, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.buf, ra.cur = buf, buf
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it; the stream it read may be
// closed after.
func (ra *readahead) Close() error {
	close(ra.stop)
	ra.done.Wait()
	return nil
}
