package grpcwire

import (
	"encoding/binary"
	"io"

	"golang.org/x/net/http2/hpack"
)

// h2stream is one stream. Its fields are guarded by its connection's mu.
type h2stream struct {
	c  *h2conn
	id uint32

	sendWin int64
	sentEnd bool // we sent END_STREAM or RST_STREAM

	headers  []hpack.HeaderField // the response's headers, once they came
	trailers []hpack.HeaderField
	data     []byte // received and not yet read
	unacked  int64
	ended    bool  // the server sent END_STREAM
	err      error // the stream broke: reset, connection lost, cancelled
}

// doneLocked forgets the stream once both sides ended.
func (st *h2stream) doneLocked() {
	if st.ended && st.sentEnd {
		delete(st.c.streams, st.id)
	}
}

// send sends p as DATA, within the flow-control windows; with end, the
// last frame ends the stream.
func (st *h2stream) send(p []byte, end bool) error {
	c := st.c
	for {
		c.mu.Lock()
		for len(p) > 0 && (st.sendWin <= 0 || c.sendWin <= 0) && st.err == nil && !st.ended {
			c.cond.Wait()
		}
		switch {
		case st.err != nil:
			err := st.err
			c.mu.Unlock()
			return err
		case st.ended || st.sentEnd:
			c.mu.Unlock()
			return io.EOF // the server is done with this stream
		}
		n := min(int64(len(p)), st.sendWin, c.sendWin, int64(c.peerFrame))
		st.sendWin -= n
		c.sendWin -= n
		last := int(n) == len(p)
		var flags byte
		if end && last {
			flags = flagEndStream
			st.sentEnd = true
			st.doneLocked()
		}
		c.mu.Unlock()
		if err := c.write(appendFrame(nil, frameData, flags, st.id, p[:n]...)); err != nil {
			c.fail(errConnLost)
			return errConnLost
		}
		if last {
			return nil
		}
		p = p[n:]
	}
}

// waitHeaders waits for the response's headers, or the end of the stream.
func (st *h2stream) waitHeaders() ([]hpack.HeaderField, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for st.headers == nil && st.err == nil && !st.ended {
		c.cond.Wait()
	}
	if st.err != nil {
		return nil, st.err
	}
	return st.headers, nil
}

// Read reads the response's body.
func (st *h2stream) Read(p []byte) (int, error) {
	c := st.c
	c.mu.Lock()
	for len(st.data) == 0 && st.err == nil && !st.ended {
		c.cond.Wait()
	}
	if st.err != nil {
		err := st.err
		c.mu.Unlock()
		return 0, err
	}
	if len(st.data) == 0 {
		c.mu.Unlock()
		return 0, io.EOF
	}
	n := copy(p, st.data)
	st.data = st.data[n:]
	c.mu.Unlock()
	c.giveBack(st, int64(n))
	return n, nil
}

// trailer returns the trailers once the stream ended: the trailers, or
// the headers of a response that had only headers.
func (st *h2stream) trailer() []hpack.HeaderField {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	if st.trailers != nil {
		return st.trailers
	}
	return st.headers
}

// cancel ends the stream with err, and resets it unless it already ended
// both ways.
func (st *h2stream) cancel(err error) {
	c := st.c
	c.mu.Lock()
	// A stream the server reset, or whose connection broke, needs no
	// reset; nor does one that ended both ways.
	reset := st.err == nil && !(st.sentEnd && st.ended)
	if st.err == nil {
		st.err = err
	}
	st.sentEnd = true
	delete(c.streams, st.id)
	c.cond.Broadcast()
	c.mu.Unlock()
	if reset {
		c.write(appendFrame(nil, frameRSTStream, 0, st.id, binary.BigEndian.AppendUint32(nil, errCodeCancel)...))
	}
}
