// Package grpcwire is a small gRPC client. It speaks gRPC's wire protocol
// (PROTOCOL-HTTP2.md in grpc/grpc: length-prefixed protobuf messages on an
// HTTP/2 stream, the status in the trailers) over a small HTTP/2 client
// of its own (h2.go), with golang.org/x/net/http2/hpack for the headers.
//
// quiltctl uses it instead of grpc-go because a command-line client pays
// for its start on every call. On the slow VM Quilt is developed on, with
// grpc-go quiltctl was a 16 MB binary against 10.4 MB now (net/http with
// golang.org/x/net/http2 is as large as grpc-go); side by side,
// `quiltctl --version` took 15.5-17.5 ms against 13.0-13.3 and
// `quiltctl ps` 21.7-22.2 ms against 16.6-17.6. Errors are
// grpc-go's status errors (google.golang.org/grpc/status, a small
// package), so callers check them as they would with grpc-go. It has no
// compression, no name resolution or load balancing, and no retries:
// quiltctl talks to one daemon over one unix socket.
package grpcwire

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2/hpack"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// MaxMessageSize is the largest message a Stream accepts (grpc-go's
// default is 4 MiB; a long container list or log line may be more).
const MaxMessageSize = 64 << 20

// Conn is a client of one gRPC server. Its methods may be called from
// several goroutines; calls share one HTTP/2 connection, opened when the
// first call needs it and again when it was lost or the server went away.
type Conn struct {
	dial func(ctx context.Context) (net.Conn, error)
	mu   sync.Mutex
	h2   *h2conn
}

// NewConn returns a client that reaches the server through dial.
func NewConn(dial func(ctx context.Context) (net.Conn, error)) *Conn {
	return &Conn{dial: dial}
}

// Close closes the connection; calls still running fail.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h2 != nil {
		c.h2.close()
		c.h2 = nil
	}
	return nil
}

// conn returns the open connection, or opens one.
func (c *Conn) conn(ctx context.Context) (*h2conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h2 != nil && c.h2.usable() {
		return c.h2, nil
	}
	// A connection the server is going away from still carries the calls
	// it accepted; it closes when the server closes it.
	c.h2 = nil
	nc, err := c.dial(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	c.h2 = newH2conn(nc)
	return c.h2, nil
}

// Invoke calls the unary method (such as "/quilt.v1.System/Version") with
// req and reads its response into resp.
func (c *Conn) Invoke(ctx context.Context, method string, req, resp proto.Message) error {
	s, err := c.open(ctx, method, req)
	if err != nil {
		return err
	}
	if err := s.RecvMsg(resp); err != nil {
		if err == io.EOF {
			return status.Error(codes.Internal, "the server sent no response message")
		}
		return err
	}
	return s.end()
}

// NewServerStream calls the server-streaming method with req; the
// responses are read with RecvMsg.
func (c *Conn) NewServerStream(ctx context.Context, method string, req proto.Message) (*Stream, error) {
	return c.open(ctx, method, req)
}

// NewStream opens a bidirectional stream of method: SendMsg sends,
// CloseSend ends the sending side and RecvMsg reads.
func (c *Conn) NewStream(ctx context.Context, method string) (*Stream, error) {
	return c.open(ctx, method, nil)
}

// open starts the call. With req, the request is that one message and
// the sending side is closed at once.
func (c *Conn) open(ctx context.Context, method string, req proto.Message) (*Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxStatus(err)
	}
	var body []byte
	if req != nil {
		var err error
		if body, err = frame(req); err != nil {
			return nil, err
		}
	}
	h, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	headers := [][2]string{
		{":method", "POST"},
		{":scheme", "http"},
		{":path", method},
		{":authority", "localhost"},
		{"content-type", "application/grpc+proto"},
		{"te", "trailers"},
		{"user-agent", "quilt-grpcwire"},
	}
	if d, ok := ctx.Deadline(); ok {
		headers = append(headers, [2]string{"grpc-timeout", encodeTimeout(time.Until(d))})
	}
	st, sent, err := h.open(headers, body)
	if err != nil {
		return nil, transportStatus(err)
	}
	s := &Stream{ctx: ctx, st: st, unary: req != nil}
	s.stop = context.AfterFunc(ctx, func() { st.cancel(ctxStatus(ctx.Err())) })
	if req != nil && !sent {
		if err := st.send(body, true); err != nil && err != io.EOF {
			s.finish(s.callStatus(err))
			return nil, s.err
		}
	}
	return s, nil
}

// Stream is one call in progress. RecvMsg is for one goroutine, SendMsg
// and CloseSend for one other.
type Stream struct {
	ctx   context.Context
	st    *h2stream
	stop  func() bool // stops the cancellation of st with ctx
	unary bool        // the request was sent whole

	sendMu sync.Mutex
	hdr    [5]byte
	err    error // set when the stream ended: io.EOF or a status error
	opened bool  // the response's headers were checked
}

// SendMsg sends m. It returns io.EOF when the stream has ended; RecvMsg
// then returns why.
func (s *Stream) SendMsg(m proto.Message) error {
	if s.unary {
		return status.Error(codes.Internal, "SendMsg on a call whose request was sent whole")
	}
	b, err := frame(m)
	if err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.st.send(b, false); err != nil {
		return io.EOF
	}
	return nil
}

// CloseSend ends the sending side.
func (s *Stream) CloseSend() error {
	if s.unary {
		return nil
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.st.send(nil, true) // an error shows in RecvMsg
	return nil
}

// RecvMsg reads the next message into m. At the end of the stream it
// returns io.EOF when the status is OK, else the status as an error.
func (s *Stream) RecvMsg(m proto.Message) error {
	if s.err != nil {
		return s.err
	}
	if err := s.wait(); err != nil {
		return s.finish(err)
	}
	if _, err := io.ReadFull(s.st, s.hdr[:]); err != nil {
		if err == io.EOF {
			return s.finish(trailerStatus(s.st.trailer()))
		}
		return s.finish(s.callStatus(err))
	}
	if s.hdr[0] != 0 {
		return s.finish(status.Error(codes.Internal, "the server sent a compressed message; none was asked for"))
	}
	n := binary.BigEndian.Uint32(s.hdr[1:])
	if n > MaxMessageSize {
		return s.finish(status.Errorf(codes.ResourceExhausted, "the server sent a message of %d bytes, more than the %d allowed", n, MaxMessageSize))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(s.st, buf); err != nil {
		return s.finish(s.callStatus(err))
	}
	if err := proto.Unmarshal(buf, m); err != nil {
		return s.finish(status.Errorf(codes.Internal, "the server sent a message that does not parse: %v", err))
	}
	return nil
}

// end reads the rest of a unary call: nothing but the status.
func (s *Stream) end() error {
	if s.err == nil {
		var next [1]byte
		switch _, err := io.ReadFull(s.st, next[:]); err {
		case nil:
			return s.finish(status.Error(codes.Internal, "the server sent more than one response message"))
		case io.EOF:
			s.finish(trailerStatus(s.st.trailer()))
		default:
			return s.finish(s.callStatus(err))
		}
	}
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

// wait waits for the response's headers and checks them once.
func (s *Stream) wait() error {
	if s.opened {
		return nil
	}
	h, err := s.st.waitHeaders()
	if err != nil {
		return s.callStatus(err)
	}
	s.opened = true
	if h == nil { // the stream ended without headers
		return status.Error(codes.Internal, "the server ended the call without headers")
	}
	if code := header(h, ":status"); code != "200" {
		n, _ := strconv.Atoi(code)
		return status.Errorf(httpCode(n), "the server answered HTTP status %q", code)
	}
	if ct := header(h, "content-type"); !strings.HasPrefix(ct, "application/grpc") {
		return status.Errorf(codes.Unknown, "the server answered with content type %q, not gRPC", ct)
	}
	return nil
}

// finish ends the stream with err (io.EOF for a status of OK) and frees
// it; later calls return the same error.
func (s *Stream) finish(err error) error {
	if status.Code(err) == codes.OK {
		err = io.EOF
	}
	s.err = err
	s.stop()
	s.st.cancel(err)
	return err
}

// callStatus is transportStatus(err), unless the call's deadline has
// passed: a server that enforces the deadline it was sent may reset the
// stream a moment before the client's own timer fires.
func (s *Stream) callStatus(err error) error {
	if d, ok := s.ctx.Deadline(); ok && !time.Now().Before(d) {
		return status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
	}
	return transportStatus(err)
}

// transportStatus turns an error of the HTTP/2 layer into a status.
func transportStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err // the call's context ended (set by the AfterFunc)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return status.Error(codes.Internal, "the server ended the call inside a message")
	}
	var reset streamReset
	if errors.As(err, &reset) {
		switch reset {
		case errCodeCancel:
			return status.Error(codes.Canceled, "the server cancelled the call")
		case errCodeRefusedStream:
			return status.Error(codes.Unavailable, connectionRefusedMessage)
		case errCodeEnhanceYourCalm:
			return status.Error(codes.ResourceExhausted, "the server asked to slow down")
		}
		return status.Error(codes.Internal, err.Error())
	}
	return status.Error(codes.Unavailable, err.Error())
}

// ctxStatus is the status of a call whose context ended.
func ctxStatus(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Canceled, err.Error())
}

// header returns the value of the field name in h.
func header(h []hpack.HeaderField, name string) string {
	for _, f := range h {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// trailerStatus reads the status from trailers (or the headers of a
// trailers-only response).
func trailerStatus(h []hpack.HeaderField) error {
	raw := header(h, "grpc-status")
	if raw == "" {
		return status.Error(codes.Internal, "the server ended the call without a status")
	}
	n, err := strconv.ParseUint(raw, 10, 32)
	if err != nil {
		return status.Errorf(codes.Internal, "the server sent the status %q, not a number", raw)
	}
	if bin := header(h, "grpc-status-details-bin"); bin != "" {
		if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(bin, "=")); err == nil {
			var p spb.Status
			if proto.Unmarshal(b, &p) == nil && p.GetCode() == int32(n) {
				return status.FromProto(&p).Err()
			}
		}
	}
	msg, err := url.PathUnescape(header(h, "grpc-message"))
	if err != nil {
		msg = header(h, "grpc-message")
	}
	return status.Error(codes.Code(n), msg)
}

// httpCode maps an HTTP status other than 200 to a gRPC code, as the gRPC
// spec's http-grpc-status-mapping.md does.
func httpCode(code int) codes.Code {
	switch code {
	case 400:
		return codes.Internal
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.Unimplemented
	case 429, 502, 503, 504:
		return codes.Unavailable
	}
	return codes.Unknown
}

// frame marshals m with gRPC's 5-byte prefix: not compressed, then the
// length.
func frame(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{}.MarshalAppend(make([]byte, 5, 5+proto.Size(m)), m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "marshal %T: %v", m, err)
	}
	binary.BigEndian.PutUint32(b[1:5], uint32(len(b)-5))
	return b, nil
}

// encodeTimeout writes d as a grpc-timeout header: at most 8 digits and
// a unit, rounded up.
func encodeTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"n", time.Nanosecond}, {"u", time.Microsecond}, {"m", time.Millisecond}, {"S", time.Second}, {"M", time.Minute}} {
		if v := (d + u.d - 1) / u.d; v < 1e8 {
			return strconv.FormatInt(int64(v), 10) + u.unit
		}
	}
	return strconv.FormatInt(int64((d+time.Hour-1)/time.Hour), 10) + "H"
}
