package grpcwire

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The test service, served by grpc-go. Its messages are StringValues.
//
//	Echo    (unary)      answers the request; "code:N:msg" fails with
//	                     code N, "big:N" answers N bytes, "timeout"
//	                     answers the grpc-timeout header, "sleep" waits
//	                     for the call to end
//	Repeat  (server)     "N:SIZE[:code]" sends N answers of SIZE bytes,
//	                     then ends with code (OK without)
//	Chat    (bidi)       answers each message upper-cased until the
//	                     client closes, then ends with NotFound if a
//	                     message was "notfound"
type service struct {
	mu       sync.Mutex
	canceled int // calls whose context ended before they did
}

func (s *service) echo(ctx context.Context, in string) (string, error) {
	switch {
	case strings.HasPrefix(in, "code:"):
		f := strings.SplitN(in, ":", 3)
		n, _ := strconv.Atoi(f[1])
		if codes.Code(n) == codes.FailedPrecondition {
			st, _ := status.New(codes.FailedPrecondition, f[2]).WithDetails(&errdetails.ErrorInfo{Reason: "WHY"})
			return "", st.Err()
		}
		return "", status.Error(codes.Code(n), f[2])
	case strings.HasPrefix(in, "big:"):
		n, _ := strconv.Atoi(in[4:])
		return strings.Repeat("x", n), nil
	case in == "timeout":
		md, _ := metadata.FromIncomingContext(ctx)
		if _, ok := ctx.Deadline(); !ok {
			return "no deadline", nil
		}
		return "deadline " + strings.Join(md.Get("grpc-timeout"), ","), nil
	case in == "sleep":
		<-ctx.Done()
		s.mu.Lock()
		s.canceled++
		s.mu.Unlock()
		return "", ctx.Err()
	}
	return in, nil
}

func (s *service) desc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "test.Wire",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Echo",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var in wrapperspb.StringValue
				if err := dec(&in); err != nil {
					return nil, err
				}
				out, err := s.echo(ctx, in.GetValue())
				if err != nil {
					return nil, err
				}
				return wrapperspb.String(out), nil
			},
		}},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Repeat",
			ServerStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				var in wrapperspb.StringValue
				if err := ss.RecvMsg(&in); err != nil {
					return err
				}
				f := strings.Split(in.GetValue(), ":")
				n, _ := strconv.Atoi(f[0])
				size, _ := strconv.Atoi(f[1])
				for i := range n {
					if err := ss.SendMsg(wrapperspb.String(strconv.Itoa(i) + strings.Repeat("y", size))); err != nil {
						return err
					}
				}
				if len(f) == 3 {
					c, _ := strconv.Atoi(f[2])
					return status.Error(codes.Code(c), "ended with "+f[2])
				}
				return nil
			},
		}, {
			StreamName:    "Chat",
			ServerStreams: true,
			ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				notFound := false
				for {
					var in wrapperspb.StringValue
					err := ss.RecvMsg(&in)
					if err == io.EOF {
						if notFound {
							return status.Error(codes.NotFound, "no such thing: "+"notfound")
						}
						return nil
					}
					if err != nil {
						return err
					}
					notFound = notFound || in.GetValue() == "notfound"
					if err := ss.SendMsg(wrapperspb.String(strings.ToUpper(in.GetValue()))); err != nil {
						return err
					}
				}
			},
		}},
	}
}

// serve starts a grpc-go server of the test service on a socket in a
// temporary directory and returns a Conn to it.
func serve(t *testing.T) (*Conn, *service, string, *grpc.Server) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "wire.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	svc := &service{}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(16<<20), grpc.MaxSendMsgSize(16<<20))
	srv.RegisterService(svc.desc(), nil)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	c := unixConn(sock)
	t.Cleanup(func() { c.Close() })
	return c, svc, sock, srv
}

// unixConn is a Conn to the unix socket sock.
func unixConn(sock string) *Conn {
	return NewConn(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	})
}

func echo(ctx context.Context, c *Conn, in string) (string, error) {
	var out wrapperspb.StringValue
	err := c.Invoke(ctx, "/test.Wire/Echo", wrapperspb.String(in), &out)
	return out.GetValue(), err
}

func TestUnary(t *testing.T) {
	c, _, _, _ := serve(t)
	ctx := context.Background()
	for _, in := range []string{"hello", "", strings.Repeat("é", 100)} {
		got, err := echo(ctx, c, in)
		if err != nil || got != in {
			t.Errorf("Echo(%q) = %q, %v", in, got, err)
		}
	}
	// Larger than HTTP/2's 16 KiB frames and 64 KiB initial windows.
	for _, n := range []int{16 << 10, 100 << 10, 5 << 20} {
		got, err := echo(ctx, c, "big:"+strconv.Itoa(n))
		if err != nil || len(got) != n {
			t.Errorf("Echo(big:%d) = %d bytes, %v", n, len(got), err)
		}
		if got, err := echo(ctx, c, strings.Repeat("z", n)); err != nil || len(got) != n {
			t.Errorf("Echo(%d bytes) = %d bytes, %v", n, len(got), err)
		}
	}
}

func TestStatus(t *testing.T) {
	c, _, _, _ := serve(t)
	ctx := context.Background()
	for _, tc := range []struct {
		code codes.Code
		msg  string
	}{
		{codes.NotFound, "no such container: web"},
		{codes.InvalidArgument, "name \"a b\": only [a-zA-Z0-9_.-] 100% allowed\nsecond line"},
		{codes.AlreadyExists, "naïve: ünïcode"},
		{codes.Internal, ""},
	} {
		_, err := echo(ctx, c, "code:"+strconv.Itoa(int(tc.code))+":"+tc.msg)
		st, ok := status.FromError(err)
		if !ok || st.Code() != tc.code || st.Message() != tc.msg {
			t.Errorf("code %v: got %v (status %v), want message %q", tc.code, err, ok, tc.msg)
		}
	}
	// Details travel in grpc-status-details-bin.
	_, err := echo(ctx, c, "code:9:busy")
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || st.Message() != "busy" || len(st.Details()) != 1 {
		t.Fatalf("got %v with details %v", err, st.Details())
	}
	if info, ok := st.Details()[0].(*errdetails.ErrorInfo); !ok || info.GetReason() != "WHY" {
		t.Errorf("details: %v", st.Details())
	}
	// An unknown method is answered by grpc-go with a trailers-only
	// response.
	err = c.Invoke(ctx, "/test.Wire/Nope", wrapperspb.String(""), &wrapperspb.StringValue{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown method: %v", err)
	}
}

func TestServerStream(t *testing.T) {
	c, _, _, _ := serve(t)
	ctx := context.Background()
	for _, tc := range []struct {
		req   string
		n     int
		size  int
		code  codes.Code
		final string
	}{
		{"0:0", 0, 0, codes.OK, ""},
		{"3:10", 3, 10, codes.OK, ""},
		{"200:1000", 200, 1000, codes.OK, ""},     // 200 KB: past the server's windows
		{"400:100000", 400, 100000, codes.OK, ""}, // 40 MB: past ours, given back as read
		{"2:5:5", 2, 5, codes.NotFound, "ended with 5"},
		{"0:0:14", 0, 0, codes.Unavailable, "ended with 14"},
	} {
		s, err := c.NewServerStream(ctx, "/test.Wire/Repeat", wrapperspb.String(tc.req))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			var m wrapperspb.StringValue
			err = s.RecvMsg(&m)
			if err != nil {
				break
			}
			if want := strconv.Itoa(n) + strings.Repeat("y", tc.size); m.GetValue() != want {
				t.Fatalf("%s: message %d is %d bytes", tc.req, n, len(m.GetValue()))
			}
			n++
		}
		if n != tc.n {
			t.Errorf("%s: %d messages, want %d", tc.req, n, tc.n)
		}
		if tc.code == codes.OK {
			if err != io.EOF {
				t.Errorf("%s: ended with %v, want io.EOF", tc.req, err)
			}
		} else if st := status.Convert(err); st.Code() != tc.code || st.Message() != tc.final {
			t.Errorf("%s: ended with %v, want %v %q", tc.req, err, tc.code, tc.final)
		}
		// The end is sticky.
		if err2 := s.RecvMsg(&wrapperspb.StringValue{}); err2 != err && status.Code(err2) != status.Code(err) {
			t.Errorf("%s: second end %v, first %v", tc.req, err2, err)
		}
	}
}

func TestBidi(t *testing.T) {
	c, _, _, _ := serve(t)
	ctx := context.Background()
	s, err := c.NewStream(ctx, "/test.Wire/Chat")
	if err != nil {
		t.Fatal(err)
	}
	// Each answer comes before the next message is sent: the call is
	// full duplex.
	for _, w := range []string{"a", "bc", strings.Repeat("d", 200<<10), "notfound"} {
		if err := s.SendMsg(wrapperspb.String(w)); err != nil {
			t.Fatal(err)
		}
		var m wrapperspb.StringValue
		if err := s.RecvMsg(&m); err != nil || m.GetValue() != strings.ToUpper(w) {
			t.Fatalf("%.10q: got %.10q, %v", w, m.GetValue(), err)
		}
	}
	s.CloseSend()
	err = s.RecvMsg(&wrapperspb.StringValue{})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("end: %v", err)
	}
	if err := s.SendMsg(wrapperspb.String("late")); err != io.EOF {
		t.Errorf("send after the end: %v, want io.EOF", err)
	}

	// A stream that ends well.
	s, _ = c.NewStream(ctx, "/test.Wire/Chat")
	s.CloseSend()
	if err := s.RecvMsg(&wrapperspb.StringValue{}); err != io.EOF {
		t.Errorf("empty chat: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	c, _, _, _ := serve(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			in := strconv.Itoa(i)
			if got, err := echo(context.Background(), c, in); err != nil || got != in {
				errs <- fmt.Errorf("%s: got %q, %v", in, got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDeadlineAndCancel(t *testing.T) {
	c, svc, _, _ := serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := echo(ctx, c, "timeout")
	if err != nil || !strings.HasPrefix(got, "deadline ") {
		t.Errorf("grpc-timeout: %q, %v", got, err)
	}
	if got, _ := echo(context.Background(), c, "timeout"); got != "no deadline" {
		t.Errorf("without a deadline: %q", got)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := echo(ctx, c, "sleep"); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("sleep past the deadline: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("deadline took %v", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := echo(ctx, c, "sleep"); status.Code(err) != codes.Canceled {
		t.Errorf("cancelled sleep: %v", err)
	}
	// The server saw both calls end.
	deadline := time.Now().Add(5 * time.Second)
	for {
		svc.mu.Lock()
		n := svc.canceled
		svc.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server saw %d calls cancelled, want 2", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	c := unixConn(sock)
	defer c.Close()
	_, err := echo(context.Background(), c, "x")
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), sock) {
		t.Errorf("got %v, want Unavailable naming %s", err, sock)
	}
}

func TestServerGone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "hangup.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// A server that accepts and hangs up at once.
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	c := unixConn(sock)
	defer c.Close()
	if _, err := echo(context.Background(), c, "x"); status.Code(err) != codes.Unavailable {
		t.Errorf("hung-up server: %v", err)
	}
}

func TestEncodeTimeout(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:               "1n",
		time.Nanosecond:            "1n",
		99999999 * time.Nanosecond: "99999999n",
		100 * time.Millisecond:     "100000u",
		2 * time.Minute:            "120000m",
		30 * time.Hour:             "108000S",
		10000 * time.Hour:          "36000000S",
		100000 * time.Hour:         "6000000M",
	} {
		if got := encodeTimeout(d); got != want {
			t.Errorf("encodeTimeout(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestGoAway: a server that stops gracefully finishes the calls it has,
// and the next call opens a new connection (here, to nobody).
func TestGoAway(t *testing.T) {
	c, _, _, srv := serve(t)
	ctx := context.Background()
	s, err := c.NewStream(ctx, "/test.Wire/Chat")
	if err != nil {
		t.Fatal(err)
	}
	var m wrapperspb.StringValue
	if err := s.SendMsg(wrapperspb.String("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.RecvMsg(&m); err != nil || m.GetValue() != "A" {
		t.Fatalf("before: %q, %v", m.GetValue(), err)
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	h := c.h2
	deadline := time.Now().Add(5 * time.Second)
	for h.usable() {
		if time.Now().After(deadline) {
			t.Fatal("no GOAWAY seen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := echo(ctx, c, "x"); status.Code(err) != codes.Unavailable {
		t.Errorf("call after GOAWAY: %v, want Unavailable (the listener is closed)", err)
	}
	if err := s.SendMsg(wrapperspb.String("b")); err != nil {
		t.Fatal(err)
	}
	if err := s.RecvMsg(&m); err != nil || m.GetValue() != "B" {
		t.Fatalf("after: %q, %v", m.GetValue(), err)
	}
	s.CloseSend()
	if err := s.RecvMsg(&m); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Error("GracefulStop still waits")
	}
}
