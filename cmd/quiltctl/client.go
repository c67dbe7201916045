package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// connectTimeout bounds the connection to quiltd's socket.
const connectTimeout = 2 * time.Second

// session is quiltctl's connection to quiltd, opened by the first command
// that needs it and closed when quiltctl ends.
type session struct {
	// address is the absolute path of quiltd's socket (set by the Before hook).
	address string

	conn       *grpc.ClientConn
	first      atomic.Pointer[net.Conn]
	system     quiltv1grpc.SystemClient
	images     quiltv1grpc.ImagesClient
	containers quiltv1grpc.ContainersClient
	networks   quiltv1grpc.NetworksClient
}

// dial connects to quiltd. It connects to the socket itself first, so that
// a daemon that is not running is reported at once and by name; gRPC then
// uses that connection.
func (s *session) dial(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: connectTimeout}
	c, err := d.DialContext(ctx, "unix", s.address)
	if err != nil {
		return unreachable(s.address, err)
	}
	target := (&url.URL{Scheme: "unix", Path: s.address}).String()
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			if c := s.first.Swap(nil); c != nil {
				return *c, nil
			}
			c, err := d.DialContext(ctx, "unix", s.address)
			if err != nil {
				return nil, unreachable(s.address, err)
			}
			return c, nil
		}),
		grpc.WithChainUnaryInterceptor(s.unaryErrors),
		grpc.WithChainStreamInterceptor(s.streamErrors),
	)
	if err != nil {
		c.Close()
		return fmt.Errorf("quiltd at %s: %w", s.address, err)
	}
	s.first.Store(&c)
	s.conn = conn
	s.system = quiltv1grpc.NewSystemClient(conn)
	s.images = quiltv1grpc.NewImagesClient(conn)
	s.containers = quiltv1grpc.NewContainersClient(conn)
	s.networks = quiltv1grpc.NewNetworksClient(conn)
	return nil
}

func (s *session) close() {
	if c := s.first.Swap(nil); c != nil {
		(*c).Close()
	}
	if s.conn != nil {
		s.conn.Close()
	}
}

// unreachable says why quiltd's socket cannot be reached, naming it.
func unreachable(addr string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach quiltd at %s: %w", addr, errNotRunning)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("cannot reach quiltd at %s: no answer within %v", addr, connectTimeout)
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se.Err
	}
	return fmt.Errorf("cannot reach quiltd at %s: %w", addr, err)
}

// plain turns a gRPC status into a daemonError that prints as quiltd's own
// sentence. io.EOF, which ends a stream, passes unchanged.
func (s *session) plain(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	if st.Code() == codes.Unavailable {
		msg = fmt.Sprintf("lost the connection to quiltd at %s: %s", s.address, msg)
	}
	return &daemonError{code: st.Code(), msg: msg}
}

func (s *session) unaryErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return s.plain(invoker(ctx, method, req, reply, cc, opts...))
}

func (s *session) streamErrors(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, s.plain(err)
	}
	return &plainStream{ClientStream: cs, s: s}, nil
}

// plainStream converts the errors of a stream as plain does.
type plainStream struct {
	grpc.ClientStream
	s *session
}

func (p *plainStream) SendMsg(m any) error { return p.s.plain(p.ClientStream.SendMsg(m)) }
func (p *plainStream) RecvMsg(m any) error { return p.s.plain(p.ClientStream.RecvMsg(m)) }
func (p *plainStream) CloseSend() error    { return p.s.plain(p.ClientStream.CloseSend()) }

// connected reports whether dial succeeded.
func (s *session) connected() bool { return s.conn != nil }
