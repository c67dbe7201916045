package initproto

import (
	"encoding/binary"
	"io"
	"strconv"
)

// An agent connection carries frames both ways: one type byte, the payload
// length as 4 bytes big-endian, the payload.
//
// The client sends one frameStart first, then any of frameStdin,
// frameCloseStdin, frameResize and frameSignal. The agent answers
// frameStarted, or frameFailed and closes; then frameStdout and
// frameStderr, and last frameExit, after which it closes the connection.
// If the client goes away before frameExit, the agent kills the process.
const (
	frameStart      byte = 'S' // ExecRequest, see marshal
	frameStdin      byte = 'I' // bytes for the process's stdin
	frameCloseStdin byte = 'C' // empty: end of input
	frameResize     byte = 'R' // rows, cols: 2 bytes each
	frameSignal     byte = 'K' // signal number: 4 bytes

	frameStarted byte = 'P' // pid: 4 bytes
	frameFailed  byte = 'F' // kind byte (failNotFound, ...) and a message
	frameStdout  byte = 'O' // output bytes
	frameStderr  byte = 'E' // output bytes
	frameExit    byte = 'X' // exit code, signal: 4 bytes each
)

const (
	frameHeaderLen = 5
	// maxFrame bounds a payload; a start request with a large environment
	// is the biggest frame.
	maxFrame = 1 << 20
	// maxChunk is the most input data one frame carries.
	maxChunk = 32 << 10
	// pumpBuffer is the most output data one frame carries: small, as
	// quilt-init holds two per running exec.
	pumpBuffer = 8 << 10
)

// The kinds of start failure in a frameFailed.
const (
	failOther byte = iota
	failNotFound
	failNotExecutable
)

// readFrame reads one frame from r into buf, growing it if needed, and
// returns its type and payload (which aliases buf).
func readFrame(r io.Reader, buf *[]byte) (byte, []byte, error) {
	var h [frameHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, wrap(ErrProtocol, "frame "+strconv.Quote(string(h[:1]))+" of "+strconv.FormatUint(uint64(n), 10)+" bytes")
	}
	if uint32(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	p := (*buf)[:n]
	if _, err := io.ReadFull(r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return h[0], p, nil
}

// appendFrame appends a frame of type typ with payload p to b.
func appendFrame(b []byte, typ byte, p []byte) []byte {
	b = append(b, typ, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(p)))
	return append(b, p...)
}

// putHeader fills the header in front of a payload already in
// b[frameHeaderLen:].
func putHeader(b []byte, typ byte) {
	b[0] = typ
	binary.BigEndian.PutUint32(b[1:frameHeaderLen], uint32(len(b)-frameHeaderLen))
}

// ExecRequest asks the agent to start a process in the container.
type ExecRequest struct {
	// Args is the command and its arguments; Args[0] is looked up in
	// the PATH of Env (DefaultPath when Env has none) unless it holds a
	// slash.
	Args []string
	// Env is the whole environment, NAME=VALUE.
	Env []string
	// Cwd is the working directory; "" is "/".
	Cwd string
	// UID, GID and Groups are the credentials; Groups replaces the
	// supplementary groups.
	UID, GID uint32
	Groups   []uint32
	// TTY gives the process a new pseudo-terminal of Rows x Cols as its
	// stdin, stdout and stderr; output then comes as Stdout only.
	TTY bool
	// Stdin connects the process's stdin to Process.Write; without it
	// stdin is /dev/null.
	Stdin      bool
	Rows, Cols uint16
}

// requestVersion leads an encoded ExecRequest, so that an agent can refuse
// a request from a newer quiltd than it understands.
const requestVersion = 1

const (
	flagTTY byte = 1 << iota
	flagStdin
)

// marshal encodes r: version, flags, rows, cols, uid, gid, the groups, the
// cwd, the args and the env; numbers big-endian, a list as its length
// then its items, a string as its length then its bytes.
func (r *ExecRequest) marshal() []byte {
	var flags byte
	if r.TTY {
		flags |= flagTTY
	}
	if r.Stdin {
		flags |= flagStdin
	}
	b := []byte{requestVersion, flags}
	b = binary.BigEndian.AppendUint16(b, r.Rows)
	b = binary.BigEndian.AppendUint16(b, r.Cols)
	b = binary.BigEndian.AppendUint32(b, r.UID)
	b = binary.BigEndian.AppendUint32(b, r.GID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Groups)))
	for _, g := range r.Groups {
		b = binary.BigEndian.AppendUint32(b, g)
	}
	b = appendString(b, r.Cwd)
	b = appendStrings(b, r.Args)
	return appendStrings(b, r.Env)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, list []string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(list)))
	for _, s := range list {
		b = appendString(b, s)
	}
	return b
}

// unmarshalRequest decodes what marshal encodes; the error wraps
// ErrMalformed.
func unmarshalRequest(b []byte) (ExecRequest, error) {
	var r ExecRequest
	d := decoder{b: b}
	if v := d.byte(); v != requestVersion {
		return r, wrap(ErrMalformed, "exec request: version "+strconv.Itoa(int(v)))
	}
	flags := d.byte()
	if flags&^(flagTTY|flagStdin) != 0 {
		return r, wrap(ErrMalformed, "exec request: flags "+strconv.Itoa(int(flags)))
	}
	r.TTY, r.Stdin = flags&flagTTY != 0, flags&flagStdin != 0
	r.Rows, r.Cols = d.uint16(), d.uint16()
	r.UID, r.GID = d.uint32(), d.uint32()
	if n := d.count(4); n > 0 {
		r.Groups = make([]uint32, n)
		for i := range r.Groups {
			r.Groups[i] = d.uint32()
		}
	}
	r.Cwd = d.string()
	r.Args = d.strings()
	r.Env = d.strings()
	if d.bad || len(d.b) != 0 {
		return ExecRequest{}, wrap(ErrMalformed, "exec request")
	}
	return r, nil
}

// decoder reads the fields of an encoded ExecRequest; a short or
// inconsistent input sets bad and yields zero values.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || n > len(d.b) {
		d.bad = true
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) byte() byte {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if p := d.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// count reads a list length and checks that the input can hold that many
// items of at least min bytes each.
func (d *decoder) count(min int) int {
	n := d.uint32()
	if d.bad || uint64(n)*uint64(min) > uint64(len(d.b)) {
		d.bad = true
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	return string(d.take(d.count(1)))
}

func (d *decoder) strings() []string {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = d.string()
	}
	return list
}
