package grpcwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"golang.org/x/net/http2/hpack"
)

// This file is the client side of HTTP/2 (RFC 9113) that gRPC needs:
// streams opened by the client, flow control both ways, SETTINGS, PING,
// GOAWAY and RST_STREAM. It has no server push (disabled in our
// SETTINGS), no priorities and no TLS. golang.org/x/net/http2/hpack does
// the header compression.

// Frame types and flags (RFC 9113 section 6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	settingHeaderTableSize   = 0x1
	settingEnablePush        = 0x2
	settingInitialWindowSize = 0x4
	settingMaxFrameSize      = 0x5

	errCodeProtocol          = 0x1
	errCodeRefusedStream     = 0x7
	errCodeCancel            = 0x8
	errCodeEnhanceYourCalm   = 0xb
	defaultWindow            = 65535
	defaultMaxFrame          = 16384
	maxWindow                = 1<<31 - 1
	preface                  = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	recvWindow               = 16 << 20 // what we let the server send ahead, per stream and per connection
	recvWindowUpdateAt       = recvWindow / 2
	maxHeaderBlock           = 1 << 20
	connectionLostMessage    = "the connection to the server was lost"
	connectionRefusedMessage = "the server refused the call"
)

// errConnLost ends the streams of a connection that broke.
var errConnLost = errors.New(connectionLostMessage)

// streamReset is a RST_STREAM the server sent.
type streamReset uint32

func (e streamReset) Error() string {
	return fmt.Sprintf("the server reset the call (HTTP/2 error code %#x)", uint32(e))
}

// goneAway ends the streams a GOAWAY said the server will not process.
type goneAway struct{}

func (goneAway) Error() string { return connectionRefusedMessage + " (it is going away)" }

// h2conn is one HTTP/2 connection.
type h2conn struct {
	nc net.Conn

	// wmu serialises writes, and with them the hpack encoder's state and
	// the order of new stream ids.
	wmu     sync.Mutex
	henc    *hpack.Encoder
	hbuf    bytes.Buffer
	pending []byte // the preface and settings, until the first write

	mu        sync.Mutex
	cond      *sync.Cond // broadcast on every change below
	streams   map[uint32]*h2stream
	nextID    uint32
	sendWin   int64 // the connection's send window
	peerWin   int64 // the server's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame int   // the server's SETTINGS_MAX_FRAME_SIZE
	unacked   int64 // bytes read by callers and not yet given back to the server
	err       error // why no new stream may be opened (lost, or going away)
}

// newH2conn starts HTTP/2 on nc: it starts the reader, and queues the
// preface and the client's settings.
func newH2conn(nc net.Conn) *h2conn {
	c := &h2conn{
		nc:        nc,
		streams:   map[uint32]*h2stream{},
		nextID:    1,
		sendWin:   defaultWindow,
		peerWin:   defaultWindow,
		peerFrame: defaultMaxFrame,
	}
	c.cond = sync.NewCond(&c.mu)
	c.henc = hpack.NewEncoder(&c.hbuf)
	// The preface and settings go out with the first request: one write,
	// and one wake-up of the server, fewer.
	c.pending = append(c.pending, preface...)
	c.pending = appendFrame(c.pending, frameSettings, 0, 0,
		0, settingEnablePush, 0, 0, 0, 0,
		0, settingInitialWindowSize, recvWindow>>24, recvWindow>>16&0xff, recvWindow>>8&0xff, recvWindow&0xff)
	c.pending = appendWindowUpdate(c.pending, 0, recvWindow-defaultWindow)
	go c.readLoop()
	return c
}

// appendFrame appends a frame of the given type, flags and stream.
func appendFrame(b []byte, typ, flags byte, stream uint32, payload ...byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, stream&maxWindow)
	return append(b, payload...)
}

func appendWindowUpdate(b []byte, stream uint32, n int64) []byte {
	return appendFrame(b, frameWindowUpdate, 0, stream, binary.BigEndian.AppendUint32(nil, uint32(n))...)
}

// write writes frames, whole.
func (c *h2conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b)
}

func (c *h2conn) writeLocked(b []byte) error {
	if c.pending != nil {
		b = append(c.pending, b...)
		c.pending = nil
	}
	_, err := c.nc.Write(b)
	return err
}

// usable reports whether new streams may be opened.
func (c *h2conn) usable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil
}

func (c *h2conn) close() {
	c.nc.Close()
}

// open starts a stream with these request headers (pseudo-headers first)
// and, when the flow-control windows allow, sends body with them and ends
// the stream. It reports whether body went.
func (c *h2conn) open(headers [][2]string, body []byte) (*h2stream, bool, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, false, err
	}
	st := &h2stream{c: c, id: c.nextID, sendWin: c.peerWin}
	c.nextID += 2
	c.streams[st.id] = st
	maxFrame := c.peerFrame
	withBody := body != nil && int64(len(body)) <= min(st.sendWin, c.sendWin) && len(body) <= maxFrame
	if withBody {
		st.sendWin -= int64(len(body))
		c.sendWin -= int64(len(body))
		st.sentEnd = true
	}
	c.mu.Unlock()

	c.hbuf.Reset()
	for _, h := range headers {
		c.henc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
	}
	block := c.hbuf.Bytes()
	var b []byte
	for first := true; first || len(block) > 0; first = false {
		n := min(len(block), maxFrame)
		typ, flags := byte(frameContinuation), byte(0)
		if first {
			typ = frameHeaders
		}
		if n == len(block) {
			flags = flagEndHeaders
		}
		b = appendFrame(b, typ, flags, st.id, block[:n]...)
		block = block[n:]
	}
	if withBody {
		b = appendFrame(b, frameData, flagEndStream, st.id, body...)
	}
	if err := c.writeLocked(b); err != nil {
		c.fail(errConnLost)
		return nil, false, errConnLost
	}
	return st, withBody, nil
}

// readLoop reads frames until the connection breaks.
func (c *h2conn) readLoop() {
	err := c.readFrames()
	c.fail(err)
	c.nc.Close()
}

// fail ends the connection: no new streams, and every open one ends
// with err.
func (c *h2conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil || errors.Is(c.err, goneAway{}) {
		c.err = errConnLost
	}
	for id, st := range c.streams {
		if st.err == nil {
			st.err = err
		}
		delete(c.streams, id)
	}
	c.cond.Broadcast()
}

func (c *h2conn) readFrames() error {
	dec := hpack.NewDecoder(4096, nil)
	dec.SetMaxStringLength(maxHeaderBlock)
	var hdr [9]byte
	var block []byte // a header block across CONTINUATION frames
	var blockStream uint32
	var blockEnd bool
	for {
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			return readError(err)
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags := hdr[3], hdr[4]
		sid := binary.BigEndian.Uint32(hdr[5:]) & maxWindow
		if n > defaultMaxFrame { // we never raise SETTINGS_MAX_FRAME_SIZE
			return c.protocolError("a frame of %d bytes", n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.nc, p); err != nil {
			return readError(err)
		}
		if block != nil && typ != frameContinuation {
			return c.protocolError("a header block cut by a frame of type %d", typ)
		}
		switch typ {
		case frameData:
			data, err := unpad(p, flags)
			if err != nil {
				return c.protocolError("%v", err)
			}
			c.onData(sid, data, len(p)-len(data), flags&flagEndStream != 0)
		case frameHeaders:
			frag, err := unpad(p, flags)
			if err != nil {
				return c.protocolError("%v", err)
			}
			if flags&flagPriority != 0 {
				if len(frag) < 5 {
					return c.protocolError("a short HEADERS frame")
				}
				frag = frag[5:]
			}
			block, blockStream, blockEnd = append([]byte{}, frag...), sid, flags&flagEndStream != 0
			if flags&flagEndHeaders == 0 {
				continue
			}
		case frameContinuation:
			if block == nil || sid != blockStream {
				return c.protocolError("a CONTINUATION frame out of place")
			}
			if block = append(block, p...); len(block) > maxHeaderBlock {
				return c.protocolError("a header block of more than %d bytes", maxHeaderBlock)
			}
			if flags&flagEndHeaders == 0 {
				continue
			}
		case frameRSTStream:
			if len(p) != 4 {
				return c.protocolError("a RST_STREAM frame of %d bytes", len(p))
			}
			c.onReset(sid, streamReset(binary.BigEndian.Uint32(p)))
		case frameSettings:
			if flags&flagAck != 0 {
				continue
			}
			if len(p)%6 != 0 {
				return c.protocolError("a SETTINGS frame of %d bytes", len(p))
			}
			if err := c.onSettings(p); err != nil {
				return err
			}
		case framePing:
			if flags&flagAck == 0 && len(p) == 8 {
				if err := c.write(appendFrame(nil, framePing, flagAck, 0, p...)); err != nil {
					return errConnLost
				}
			}
		case frameGoAway:
			if len(p) < 8 {
				return c.protocolError("a GOAWAY frame of %d bytes", len(p))
			}
			c.onGoAway(binary.BigEndian.Uint32(p) & maxWindow)
		case frameWindowUpdate:
			if len(p) != 4 {
				return c.protocolError("a WINDOW_UPDATE frame of %d bytes", len(p))
			}
			c.onWindowUpdate(sid, int64(binary.BigEndian.Uint32(p)&maxWindow))
		case framePushPromise:
			return c.protocolError("a PUSH_PROMISE, though push is disabled")
		}
		if block != nil { // a whole header block
			fields, err := dec.DecodeFull(block)
			if err != nil {
				return c.protocolError("headers: %v", err)
			}
			c.onHeaders(blockStream, fields, blockEnd)
			block = nil
		}
	}
}

// readError says why reading from the connection failed.
func readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the server closed the connection")
	}
	return fmt.Errorf("%s: %w", connectionLostMessage, err)
}

// protocolError tells the server, and returns the error that ends the
// connection.
func (c *h2conn) protocolError(format string, args ...any) error {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, errCodeProtocol)
	c.write(appendFrame(nil, frameGoAway, 0, 0, b...))
	return fmt.Errorf("%s: the server sent "+format, append([]any{connectionLostMessage}, args...)...)
}

// unpad removes the padding of a DATA or HEADERS frame.
func unpad(p []byte, flags byte) ([]byte, error) {
	if flags&flagPadded == 0 {
		return p, nil
	}
	if len(p) == 0 || int(p[0]) >= len(p) {
		return nil, errors.New("bad padding")
	}
	return p[1 : len(p)-int(p[0])], nil
}

func (c *h2conn) onData(sid uint32, data []byte, padding int, end bool) {
	c.mu.Lock()
	st := c.streams[sid]
	credit := int64(padding)
	if st == nil || st.err != nil {
		credit += int64(len(data)) // nobody will read it
	} else {
		st.data = append(st.data, data...)
		st.unacked += int64(padding)
		if end {
			st.ended = true
			st.doneLocked()
		}
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	if credit > 0 {
		c.giveBack(nil, credit)
	}
}

func (c *h2conn) onHeaders(sid uint32, fields []hpack.HeaderField, end bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[sid]
	if st == nil {
		return
	}
	if st.headers == nil {
		st.headers = fields
	} else {
		st.trailers = fields
	}
	if end {
		st.ended = true
		st.doneLocked()
	}
	c.cond.Broadcast()
}

func (c *h2conn) onReset(sid uint32, code streamReset) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[sid]; st != nil {
		// A server that answered in full before the request ended may
		// reset with NO_ERROR to stop the request (RFC 9113 section
		// 8.1); the answer stands.
		if code == 0 && st.ended {
			st.sentEnd = true
		} else if st.err == nil {
			st.err = code
		}
		delete(c.streams, sid)
		c.cond.Broadcast()
	}
}

func (c *h2conn) onSettings(p []byte) error {
	var table *uint32
	c.mu.Lock()
	for i := 0; i < len(p); i += 6 {
		v := binary.BigEndian.Uint32(p[i+2:])
		switch binary.BigEndian.Uint16(p[i:]) {
		case settingInitialWindowSize:
			if v > maxWindow {
				c.mu.Unlock()
				return c.protocolError("an initial window of %d", v)
			}
			delta := int64(v) - c.peerWin
			c.peerWin = int64(v)
			for _, st := range c.streams {
				st.sendWin += delta
			}
		case settingMaxFrameSize:
			if v < defaultMaxFrame || v > 1<<24-1 {
				c.mu.Unlock()
				return c.protocolError("a maximum frame size of %d", v)
			}
			c.peerFrame = int(v)
		case settingHeaderTableSize:
			table = &v
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	if table != nil { // the encoder belongs to the writers (wmu before mu)
		c.wmu.Lock()
		c.henc.SetMaxDynamicTableSizeLimit(*table)
		c.wmu.Unlock()
	}
	if err := c.write(appendFrame(nil, frameSettings, flagAck, 0)); err != nil {
		return errConnLost
	}
	return nil
}

func (c *h2conn) onGoAway(last uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = goneAway{}
	}
	for id, st := range c.streams {
		if id > last {
			if st.err == nil {
				st.err = goneAway{}
			}
			delete(c.streams, id)
		}
	}
	c.cond.Broadcast()
}

func (c *h2conn) onWindowUpdate(sid uint32, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sid == 0 {
		c.sendWin += n
	} else if st := c.streams[sid]; st != nil {
		st.sendWin += n
	}
	c.cond.Broadcast()
}

// giveBack returns n bytes of window to the server, for the connection
// and for st when it is still open.
func (c *h2conn) giveBack(st *h2stream, n int64) {
	var b []byte
	c.mu.Lock()
	c.unacked += n
	if c.unacked >= recvWindowUpdateAt {
		b = appendWindowUpdate(b, 0, c.unacked)
		c.unacked = 0
	}
	if st != nil && !st.ended && st.err == nil {
		st.unacked += n
		if st.unacked >= recvWindowUpdateAt {
			b = appendWindowUpdate(b, st.id, st.unacked)
			st.unacked = 0
		}
	}
	c.mu.Unlock()
	if b != nil {
		c.write(b)
	}
}
