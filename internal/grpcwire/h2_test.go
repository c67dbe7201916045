package grpcwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// rawServer is an HTTP/2 server driven frame by frame, for what grpc-go's
// server never sends: padding, priorities, CONTINUATION frames, unknown
// frame types, tiny windows, oversized frames and early GOAWAYs.
type rawServer struct {
	t    *testing.T
	conn net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

// rawServe accepts one connection on a new socket and runs serve on it;
// it returns a Conn to it.
func rawServe(t *testing.T, serve func(*rawServer)) *Conn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "raw.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := l.Accept()
		l.Close()
		if err != nil {
			return
		}
		defer conn.Close()
		s := &rawServer{t: t, conn: conn, fr: http2.NewFramer(conn, conn)}
		s.enc = hpack.NewEncoder(&s.hbuf)
		s.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		pre := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(conn, pre); err != nil || string(pre) != http2.ClientPreface {
			t.Errorf("preface %q, %v", pre, err)
			return
		}
		serve(s)
	}()
	t.Cleanup(func() {
		l.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("raw server still running")
		}
	})
	c := unixConn(sock)
	t.Cleanup(func() { c.Close() })
	return c
}

// next reads frames until one that is not SETTINGS or WINDOW_UPDATE,
// acknowledging the client's settings; it returns nil at the end of the
// connection.
func (s *rawServer) next() http2.Frame {
	for {
		f, err := s.fr.ReadFrame()
		if err != nil {
			return nil
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				s.fr.WriteSettingsAck()
			}
		case *http2.WindowUpdateFrame:
		default:
			return f
		}
	}
}

// request reads a request's headers and, when it has one, its message.
func (s *rawServer) request() (uint32, []byte) {
	h, ok := s.next().(*http2.MetaHeadersFrame)
	if !ok {
		s.t.Errorf("want HEADERS")
		return 0, nil
	}
	if h.StreamEnded() {
		return h.StreamID, nil
	}
	var body []byte
	for {
		d, ok := s.next().(*http2.DataFrame)
		if !ok {
			s.t.Errorf("want DATA")
			return h.StreamID, body
		}
		body = append(body, d.Data()...)
		if d.StreamEnded() {
			return h.StreamID, body
		}
	}
}

// block encodes header fields.
func (s *rawServer) block(kv ...string) []byte {
	s.hbuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		s.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return bytes.Clone(s.hbuf.Bytes())
}

func grpcMessage(t *testing.T, m proto.Message) []byte {
	b, err := frame(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOddFraming: headers split over HEADERS (padded, with a priority)
// and CONTINUATION, a PING to answer, a frame of an unknown type, the
// message in two padded DATA frames, trailers, then RST_STREAM(NO_ERROR)
// once the answer is whole.
func TestOddFraming(t *testing.T) {
	pinged := make(chan [8]byte, 1)
	c := rawServe(t, func(s *rawServer) {
		s.fr.WriteSettings()
		id, body := s.request()
		var in wrapperspb.StringValue
		if len(body) < 5 || proto.Unmarshal(body[5:], &in) != nil || in.GetValue() != "ping" {
			t.Errorf("request body %q", body)
		}
		hdr := s.block(":status", "200", "content-type", "application/grpc")
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hdr[:3], PadLength: 7,
			Priority: http2.PriorityParam{StreamDep: 0, Weight: 15}})
		s.fr.WriteContinuation(id, true, hdr[3:])
		s.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
		s.fr.WriteRawFrame(0xfa, 0, 0, []byte("unknown"))
		msg := grpcMessage(t, wrapperspb.String("pong"))
		s.fr.WriteDataPadded(id, false, msg[:4], make([]byte, 3))
		s.fr.WriteDataPadded(id, false, msg[4:], nil)
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndStream: true, EndHeaders: true,
			BlockFragment: s.block("grpc-status", "0")})
		s.fr.WriteRSTStream(id, http2.ErrCodeNo)
		if p, ok := s.next().(*http2.PingFrame); ok && p.IsAck() {
			pinged <- p.Data
		}
	})
	var out wrapperspb.StringValue
	if err := c.Invoke(context.Background(), "/raw/Echo", wrapperspb.String("ping"), &out); err != nil || out.GetValue() != "pong" {
		t.Fatalf("Invoke = %q, %v", out.GetValue(), err)
	}
	c.Close() // the server's next() returns
	select {
	case d := <-pinged:
		if d != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
			t.Errorf("PING ACK carries %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Error("no PING ACK")
	}
}

// TestSmallWindows: with a stream window of 10 bytes and credit given 10
// bytes at a time, the client sends 10-byte DATA frames and waits between
// them.
func TestSmallWindows(t *testing.T) {
	acked := make(chan struct{})
	sizes := make(chan []int, 1)
	c := rawServe(t, func(s *rawServer) {
		s.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
		var id uint32
		waiting := acked
		for id == 0 || waiting != nil {
			f, err := s.fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if f.IsAck() {
					close(waiting)
					waiting = nil
				} else {
					s.fr.WriteSettingsAck()
				}
			case *http2.MetaHeadersFrame:
				id = f.StreamID
			}
		}
		var got []int
		var body []byte
		for {
			d, ok := s.next().(*http2.DataFrame)
			if !ok {
				break
			}
			if len(d.Data()) > 0 {
				got = append(got, len(d.Data()))
				body = append(body, d.Data()...)
				s.fr.WriteWindowUpdate(id, uint32(len(d.Data())))
				s.fr.WriteWindowUpdate(0, uint32(len(d.Data())))
			}
			if d.StreamEnded() {
				break
			}
		}
		sizes <- got
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndStream: true, EndHeaders: true,
			BlockFragment: s.block(":status", "200", "content-type", "application/grpc", "grpc-status", "0")})
		var in wrapperspb.StringValue
		if len(body) < 5 || proto.Unmarshal(body[5:], &in) != nil || len(in.GetValue()) != 100 {
			t.Errorf("body of %d bytes", len(body))
		}
		s.next()
	})
	st, err := c.NewStream(context.Background(), "/raw/Chat")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-acked:
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not acknowledge the settings")
	}
	if err := st.SendMsg(wrapperspb.String(strings.Repeat("w", 100))); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	if err := st.RecvMsg(&wrapperspb.StringValue{}); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	got := <-sizes
	total := 0
	for _, n := range got {
		if n > 10 {
			t.Errorf("a DATA frame of %d bytes in a 10-byte window (%v)", n, got)
		}
		total += n
	}
	if want := len(grpcMessage(t, wrapperspb.String(strings.Repeat("w", 100)))); total != want {
		t.Errorf("%d bytes in frames %v, want %d", total, got, want)
	}
}

// TestOversizedFrame: a frame larger than the client allows ends the
// connection with a protocol error, and the call with Unavailable.
func TestOversizedFrame(t *testing.T) {
	goaway := make(chan http2.ErrCode, 1)
	c := rawServe(t, func(s *rawServer) {
		id, _ := s.request()
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true,
			BlockFragment: s.block(":status", "200", "content-type", "application/grpc")})
		var b []byte
		b = append(b, 0, 0x4e, 0x20, frameData, 0) // 20000 bytes
		b = binary.BigEndian.AppendUint32(b, id)
		b = append(b, make([]byte, 20000)...)
		s.conn.Write(b)
		if g, ok := s.next().(*http2.GoAwayFrame); ok {
			goaway <- g.ErrCode
		}
	})
	err := c.Invoke(context.Background(), "/raw/Echo", wrapperspb.String("x"), &wrapperspb.StringValue{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "20000") {
		t.Errorf("got %v, want Unavailable naming the frame's size", err)
	}
	select {
	case code := <-goaway:
		if code != http2.ErrCodeProtocol {
			t.Errorf("GOAWAY with %v", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("no GOAWAY")
	}
}

// TestGoAwayRefuses: streams after a GOAWAY's last stream fail with
// Unavailable; the one before it goes on.
func TestGoAwayRefuses(t *testing.T) {
	c := rawServe(t, func(s *rawServer) {
		h1, _ := s.next().(*http2.MetaHeadersFrame)
		h3, _ := s.next().(*http2.MetaHeadersFrame)
		if h1 == nil || h3 == nil || h1.StreamID != 1 || h3.StreamID != 3 {
			t.Errorf("streams %v %v", h1, h3)
			return
		}
		s.fr.WriteGoAway(1, http2.ErrCodeNo, nil)
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true,
			BlockFragment: s.block(":status", "200", "content-type", "application/grpc")})
		s.fr.WriteData(1, false, grpcMessage(t, wrapperspb.String("one")))
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndStream: true, EndHeaders: true,
			BlockFragment: s.block("grpc-status", "0")})
		for s.next() != nil {
		}
	})
	ctx := context.Background()
	s1, err := c.NewStream(ctx, "/raw/One")
	if err != nil {
		t.Fatal(err)
	}
	s3, err := c.NewStream(ctx, "/raw/Three")
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.RecvMsg(&wrapperspb.StringValue{}); status.Code(err) != codes.Unavailable {
		t.Errorf("stream 3: %v, want Unavailable", err)
	}
	var m wrapperspb.StringValue
	if err := s1.RecvMsg(&m); err != nil || m.GetValue() != "one" {
		t.Errorf("stream 1: %q, %v", m.GetValue(), err)
	}
	if err := s1.RecvMsg(&m); err != io.EOF {
		t.Errorf("stream 1 end: %v", err)
	}
	c.Close()
}
