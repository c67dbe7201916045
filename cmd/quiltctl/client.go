package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quilt-runtime/quilt/internal/grpcwire"
)

// connectTimeout bounds the connection to quiltd's socket.
const connectTimeout = 2 * time.Second

// session is quiltctl's connection to quiltd, opened by the first command
// that needs it and closed when quiltctl ends. It speaks gRPC through
// internal/grpcwire, not grpc-go, so that quiltctl starts fast.
type session struct {
	// address is the absolute path of quiltd's socket (set by the Before hook).
	address string

	conn       *grpcwire.Conn
	first      atomic.Pointer[net.Conn]
	system     systemClient
	images     imagesClient
	containers containersClient
	networks   networksClient
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
	s.first.Store(&c)
	s.conn = grpcwire.NewConn(func(ctx context.Context) (net.Conn, error) {
		if c := s.first.Swap(nil); c != nil {
			return *c, nil
		}
		c, err := d.DialContext(ctx, "unix", s.address)
		if err != nil {
			return nil, unreachable(s.address, err)
		}
		return c, nil
	})
	s.system = systemClient{s}
	s.images = imagesClient{s}
	s.containers = containersClient{s}
	s.networks = networksClient{s}
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

// connected reports whether dial succeeded.
func (s *session) connected() bool { return s.conn != nil }
