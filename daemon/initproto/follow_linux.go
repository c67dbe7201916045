package initproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Poll intervals of Follow: without inotify, and as a safety net with it.
var (
	followPoll      = 100 * time.Millisecond
	followSafetyNet = 2 * time.Second
	// noInotify makes Follow poll, as where inotify is not available.
	noInotify = false
)

// Follow calls fn for each record of the log f from its current offset on
// (Seek, or Tail and Seek, to choose where), and keeps reading as the file
// grows. It waits for writes with inotify, or by polling when inotify is
// not available. It returns ctx.Err() when ctx is cancelled, nil once done
// is closed and the file has been read to its end (close done when the
// writer has exited, so that nothing is lost), or the first error of fn or
// of parsing (see ReadLog). A nil done is never closed.
func Follow(ctx context.Context, f *os.File, done <-chan struct{}, fn func(Entry) error) error {
	w := watchWrites(f)
	if w != nil {
		defer w.close()
	}
	poll := followPoll
	var wake <-chan struct{}
	if w != nil {
		poll, wake = followSafetyNet, w.events
	}
	timer := time.NewTimer(poll)
	defer timer.Stop()
	p := logParser{fn: fn}
	buf := make([]byte, 32<<10)
	for {
		finished := isClosed(done)
		if err := readToEOF(f, buf, &p); err != nil {
			return err
		}
		if finished {
			return nil
		}
		timer.Reset(poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
		case <-wake:
		case <-timer.C:
		}
	}
}

// readToEOF feeds p with what f holds from its offset to its end.
func readToEOF(f *os.File, buf []byte, p *logParser) error {
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if perr := p.feed(buf[:n]); perr != nil {
				return perr
			}
		}
		switch {
		case errors.Is(err, io.EOF) || (n == 0 && err == nil):
			return nil
		case err != nil:
			return fmt.Errorf("follow log %s: %w", f.Name(), err)
		}
	}
}

func isClosed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// writeWatch reports writes to a file through inotify.
type writeWatch struct {
	ino    *os.File
	events chan struct{}
}

// watchWrites watches the inode f refers to (whatever its name now is), or
// returns nil when inotify is not available.
func watchWrites(f *os.File) *writeWatch {
	if noInotify {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var fd uintptr
	if err := rc.Control(func(v uintptr) { fd = v }); err != nil {
		return nil
	}
	ifd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	// The /proc/self/fd link leads to the open file even once renamed.
	if _, err := unix.InotifyAddWatch(ifd, "/proc/self/fd/"+strconv.Itoa(int(fd)), unix.IN_MODIFY|unix.IN_CLOSE_WRITE); err != nil {
		unix.Close(ifd)
		return nil
	}
	w := &writeWatch{ino: os.NewFile(uintptr(ifd), "inotify"), events: make(chan struct{}, 1)}
	go w.run()
	return w
}

// run turns inotify events into wake-ups until the inotify file is closed.
func (w *writeWatch) run() {
	buf := make([]byte, 4096)
	for {
		if _, err := w.ino.Read(buf); err != nil {
			return
		}
		select {
		case w.events <- struct{}{}:
		default:
		}
	}
}

func (w *writeWatch) close() { w.ino.Close() }
