package initproto

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Client is a connection to the exec agent of one container; it starts
// one process. Close it when done with the process: closing it before the
// process has exited kills the process.
type Client struct {
	conn    *os.File
	mu      sync.Mutex
	started bool
}

// Dial connects to the agent socket at socketPath, retrying while its
// backlog is full until ctx is done.
func Dial(ctx context.Context, socketPath string) (*Client, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("dial agent %s: %w", socketPath, err)
	}
	sa := &unix.SockaddrUnix{Name: socketPath}
	for {
		err := unix.Connect(fd, sa)
		if err == nil {
			break
		}
		if err != unix.EAGAIN && err != unix.EINTR {
			unix.Close(fd)
			return nil, fmt.Errorf("dial agent %s: %w", socketPath, err)
		}
		select {
		case <-ctx.Done():
			unix.Close(fd)
			return nil, fmt.Errorf("dial agent %s: %w", socketPath, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return &Client{conn: os.NewFile(uintptr(fd), socketPath)}, nil
}

// Close closes the connection; a process that has not exited yet is
// killed by the agent. Close also ends a Start, Output or Wait blocked in
// another goroutine.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Start asks the agent to start req and returns once the process runs. A
// process that cannot be started gives an error that wraps ErrNotFound
// (answer exit code 127) or ErrNotExecutable (126) when that is why, and
// reads like `exec "nosuch": executable file not found in $PATH`.
func (c *Client) Start(req ExecRequest) (*Process, error) {
	c.mu.Lock()
	started := c.started
	c.started = true
	c.mu.Unlock()
	if started {
		return nil, ErrStarted
	}
	name := ""
	if len(req.Args) > 0 {
		name = req.Args[0]
	}
	if _, err := c.conn.Write(appendFrame(nil, frameStart, req.marshal())); err != nil {
		return nil, fmt.Errorf("exec %q: send request: %w", name, err)
	}
	p := &Process{c: c, r: bufio.NewReaderSize(c.conn, frameHeaderLen+maxChunk)}
	typ, b, err := readFrame(p.r, &p.buf)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("exec %q: agent: %w", name, err)
	}
	switch {
	case typ == frameStarted && len(b) == 4:
		p.Pid = int(binary.BigEndian.Uint32(b))
		return p, nil
	case typ == frameFailed && len(b) > 0:
		e := &startError{msg: string(b[1:])}
		switch b[0] {
		case failNotFound:
			e.kind = ErrNotFound
		case failNotExecutable:
			e.kind = ErrNotExecutable
		}
		return nil, e
	}
	return nil, fmt.Errorf("exec %q: %w: unexpected frame %q", name, ErrProtocol, typ)
}

// startError is the agent's reason for not starting a process.
type startError struct {
	msg  string
	kind error // ErrNotFound, ErrNotExecutable or nil
}

func (e *startError) Error() string { return e.msg }
func (e *startError) Unwrap() error { return e.kind }

// Process is a process started by the agent. Output and Wait read from
// the agent and are meant for one goroutine; Write, CloseStdin, Resize and
// Signal may be called from another one.
type Process struct {
	// Pid is the process's pid in the container.
	Pid int

	c   *Client
	wmu sync.Mutex // serializes frames to the agent

	rmu    sync.Mutex // guards what follows
	r      *bufio.Reader
	buf    []byte
	exited bool
	code   int
	err    error
}

// Output calls fn with each piece of output of the process, in order,
// until the process has exited and all its output has been delivered
// (then it returns nil), the connection fails, or fn returns an error
// (returned as is). The data passed to fn is only valid during the call.
// A nil fn discards the output.
func (p *Process) Output(fn func(s Stream, data []byte) error) error {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	for !p.exited && p.err == nil {
		typ, b, err := readFrame(p.r, &p.buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			p.err = fmt.Errorf("exec pid %d: agent connection: %w", p.Pid, err)
			break
		}
		switch {
		case typ == frameStdout || typ == frameStderr:
			if fn == nil {
				continue
			}
			s := Stdout
			if typ == frameStderr {
				s = Stderr
			}
			if err := fn(s, b); err != nil {
				return err
			}
		case typ == frameExit && len(b) == 8:
			p.code, p.exited = int(int32(binary.BigEndian.Uint32(b))), true
		default:
			p.err = fmt.Errorf("exec pid %d: %w: unexpected frame %q", p.Pid, ErrProtocol, typ)
		}
	}
	return p.err
}

// Wait discards the output that Output has not delivered and returns the
// process's exit code: 128+N when signal N killed it.
func (p *Process) Wait() (exitCode int, err error) {
	if err := p.Output(nil); err != nil {
		return -1, err
	}
	return p.code, nil
}

// Write sends b to the process's stdin; it needs ExecRequest.Stdin.
func (p *Process) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), maxChunk)]
		if err := p.send(frameStdin, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		b = b[len(chunk):]
	}
	return n, nil
}

// CloseStdin ends the process's input; with a terminal it types the EOF
// character (^D) instead.
func (p *Process) CloseStdin() error {
	return p.send(frameCloseStdin, nil)
}

// Resize sets the size of the process's terminal.
func (p *Process) Resize(rows, cols uint16) error {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 4), rows)
	return p.send(frameResize, binary.BigEndian.AppendUint16(b, cols))
}

// Signal sends sig to the process.
func (p *Process) Signal(sig unix.Signal) error {
	return p.send(frameSignal, binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(sig)))
}

func (p *Process) send(typ byte, b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, err := p.c.conn.Write(appendFrame(make([]byte, 0, frameHeaderLen+len(b)), typ, b)); err != nil {
		return fmt.Errorf("exec pid %d: %w", p.Pid, err)
	}
	return nil
}
