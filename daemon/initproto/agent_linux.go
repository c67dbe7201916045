package initproto

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// drainTimeout bounds how long output is still read after a process has
// exited: a background child holding its stdout would otherwise delay
// its exit status forever.
var drainTimeout = time.Second

// idleTrim is how long after its last exec session ends quilt-init gives
// the memory the sessions used back to the kernel.
var idleTrim = time.Second

// sessions counts the running exec sessions, to return memory once none
// runs: the garbage of a burst of execs would otherwise stay in quilt-init
// until the heap grows enough for a GC, and be returned to the kernel only
// slowly after that.
type sessions struct {
	mu   sync.Mutex
	n    int
	trim *time.Timer
}

func (s *sessions) begin() {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

func (s *sessions) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if s.n > 0 {
		return
	}
	if s.trim == nil {
		s.trim = time.AfterFunc(idleTrim, s.trimIfIdle)
	} else {
		s.trim.Reset(idleTrim)
	}
}

func (s *sessions) trimIfIdle() {
	s.mu.Lock()
	idle := s.n == 0
	s.mu.Unlock()
	if idle {
		debug.FreeOSMemory()
	}
}

// OpenAgent returns the listening unix socket at fd, in non-blocking
// close-on-exec mode, for Options.Agent; nil when fd is not open or is not
// a listening socket (quiltd may start quilt-init without an agent).
func OpenAgent(fd int) *os.File {
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
		return nil
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), "agent")
}

// agent serves exec requests.
type agent struct {
	reaper *reaper
	// startTimeout bounds how long a connection may take to send its
	// start request.
	startTimeout time.Duration
	active       sessions
}

func newAgent(r *reaper) *agent {
	return &agent{reaper: r, startTimeout: 10 * time.Second}
}

// serve accepts connections on ln, as OpenAgent returns it, and serves an
// exec request on each until ln is closed.
func (a *agent) serve(ln *os.File) error {
	rc, err := ln.SyscallConn()
	if err != nil {
		return wrap(err, "agent")
	}
	for {
		var nfd int
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
			return aerr != unix.EAGAIN
		})
		if err != nil {
			return wrap(err, "agent")
		}
		switch aerr {
		case nil:
			a.active.begin()
			go func() {
				defer a.active.end()
				a.serveExec(os.NewFile(uintptr(nfd), "agent connection"))
			}()
		case unix.EINTR, unix.ECONNABORTED:
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			time.Sleep(100 * time.Millisecond) // let running execs end
		default:
			return wrap(aerr, "agent accept")
		}
	}
}

// execSession is one exec request on an agent connection.
type execSession struct {
	conn  *os.File
	r     *reaper
	c     *child
	wmu   sync.Mutex // serializes frames to conn
	gone  bool       // the client went away; guarded by wmu
	stdin *os.File   // the process's input: a pipe or the pty; nil for /dev/null
	// stdinClosed is set once the client ended the input; only the
	// input goroutine uses it.
	stdinClosed bool
	tty         *os.File   // the pty master, nil without a terminal
	outputs     []*os.File // stdout and stderr pipes, or the pty master
}

// serveExec reads the start request from conn, starts the process and
// relays its input, output and exit status.
func (a *agent) serveExec(conn *os.File) {
	defer conn.Close()
	var buf []byte
	conn.SetReadDeadline(time.Now().Add(a.startTimeout))
	typ, p, err := readFrame(conn, &buf)
	if err != nil {
		return
	}
	conn.SetReadDeadline(time.Time{})
	s := &execSession{conn: conn, r: a.reaper}
	if typ != frameStart {
		s.fail(wrap(ErrProtocol, "expected a start request"))
		return
	}
	req, err := unmarshalRequest(p)
	if err != nil {
		s.fail(err)
		return
	}
	if err := s.start(&req); err != nil {
		s.fail(err)
		return
	}
	s.relay(buf)
}

// start starts the process of req with pipes or a pty.
func (s *execSession) start(req *ExecRequest) error {
	sp := spawn{args: req.Args, env: req.Env, dir: req.Cwd, cred: credential(req.UID, req.GID, req.Groups)}
	if sp.dir == "" {
		sp.dir = "/"
	}
	var childFiles []*os.File // the child's ends, closed once it runs
	defer func() {
		for _, f := range childFiles {
			f.Close()
		}
	}()
	if req.TTY {
		master, tty, err := openPTY(req.Rows, req.Cols)
		if err != nil {
			return err
		}
		childFiles = append(childFiles, tty)
		_ = control(tty, func(fd int) error { return unix.Fchown(fd, int(req.UID), -1) })
		s.tty, s.outputs = master, []*os.File{master}
		if req.Stdin {
			s.stdin = master
		}
		fd := tty.Fd()
		sp.files = []uintptr{fd, fd, fd}
		sp.sys = syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		var in *os.File
		var err error
		if req.Stdin {
			in, s.stdin, err = os.Pipe()
		} else {
			in, err = os.Open(os.DevNull)
		}
		if err != nil {
			return wrap(err, "stdin")
		}
		childFiles = append(childFiles, in)
		outR, outW, err := os.Pipe()
		if err != nil {
			s.closeFiles()
			return wrap(err, "stdout")
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			outR.Close()
			outW.Close()
			s.closeFiles()
			return wrap(err, "stderr")
		}
		childFiles = append(childFiles, outW, errW)
		s.outputs = []*os.File{outR, errR}
		sp.files = []uintptr{in.Fd(), outW.Fd(), errW.Fd()}
		// Its own process group, so that a lost client kills all of it.
		sp.sys = syscall.SysProcAttr{Setpgid: true}
	}
	c, err := s.r.spawn(&sp)
	if err != nil {
		s.closeFiles()
		return err
	}
	s.c = c
	return nil
}

// credential returns the credentials to start a process with, nil when
// they are quilt-init's own and no groups are asked for, so that a
// rootless container, where setgroups(2) is denied, can exec as itself.
func credential(uid, gid uint32, groups []uint32) *syscall.Credential {
	if len(groups) == 0 && int(uid) == os.Getuid() && int(gid) == os.Getgid() {
		return nil
	}
	return &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}
}

// relay sends the pid, then output as it comes, then the exit status,
// while it applies the client's input, resizes and signals. buf is a
// buffer for reading frames.
func (s *execSession) relay(buf []byte) {
	defer s.closeFiles()
	pid := binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(s.c.pid))
	if err := s.send(frameStarted, pid); err != nil {
		s.r.signal(s.c, unix.SIGKILL, true)
	}
	var wg sync.WaitGroup
	for i, f := range s.outputs {
		typ := frameStdout
		if i == 1 {
			typ = frameStderr
		}
		wg.Go(func() { s.pump(f, typ) })
	}
	go s.input(buf)
	<-s.c.done
	deadline := time.Now().Add(drainTimeout)
	for _, f := range s.outputs {
		f.SetReadDeadline(deadline)
	}
	wg.Wait()
	st := statusFromWait(s.c.pid, s.c.status, time.Time{})
	exit := binary.BigEndian.AppendUint32(make([]byte, 0, 8), uint32(st.ExitCode))
	exit = binary.BigEndian.AppendUint32(exit, uint32(st.Signal))
	s.send(frameExit, exit)
}

// pumpBuffers keeps the output buffers of finished sessions for the next
// ones, so that a burst of execs leaves little garbage.
var pumpBuffers = sync.Pool{New: func() any {
	b := make([]byte, frameHeaderLen+pumpBuffer)
	return &b
}}

// pump relays what the process writes to f as frames of type typ. Once
// the client is gone it keeps reading, so that the process never blocks on
// a full pipe before it is killed.
func (s *execSession) pump(f *os.File, typ byte) {
	bp := pumpBuffers.Get().(*[]byte)
	defer pumpBuffers.Put(bp)
	buf := *bp
	for {
		n, err := f.Read(buf[frameHeaderLen:])
		if n > 0 {
			putHeader(buf[:frameHeaderLen+n], typ)
			s.write(buf[:frameHeaderLen+n])
		}
		if err != nil {
			return
		}
	}
}

// input applies the client's frames until the connection ends; if it
// ends before the process has exited, the client is gone and the process
// group is killed, so that nothing lingers.
func (s *execSession) input(buf []byte) {
	for {
		typ, p, err := readFrame(s.conn, &buf)
		if err == nil {
			err = s.apply(typ, p)
		}
		if err != nil {
			s.r.signal(s.c, unix.SIGKILL, true)
			return
		}
	}
}

// apply carries out one frame from the client. Only a protocol error
// ends the session; a failed write to the process's stdin does not.
func (s *execSession) apply(typ byte, p []byte) error {
	switch typ {
	case frameStdin:
		if s.stdin != nil && !s.stdinClosed {
			s.stdin.Write(p)
		}
	case frameCloseStdin:
		switch {
		case s.stdin == nil || s.stdinClosed:
		case s.tty != nil:
			// A terminal has no end of input but the EOF character
			// (VEOF, ^D by default).
			s.stdin.Write([]byte{4})
		default:
			s.stdin.Close()
			s.stdinClosed = true
		}
	case frameResize:
		if len(p) != 4 {
			return wrap(ErrProtocol, "resize frame")
		}
		if s.tty != nil {
			resize(s.tty, binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]))
		}
	case frameSignal:
		if len(p) != 4 {
			return wrap(ErrProtocol, "signal frame")
		}
		s.r.signal(s.c, unix.Signal(binary.BigEndian.Uint32(p)), false)
	default:
		return wrap(ErrProtocol, "frame type "+string(rune(typ)))
	}
	return nil
}

// send writes one frame with payload p.
func (s *execSession) send(typ byte, p []byte) error {
	return s.write(appendFrame(make([]byte, 0, frameHeaderLen+len(p)), typ, p))
}

// write writes a whole frame, unless the client is gone.
func (s *execSession) write(frame []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.gone {
		return os.ErrClosed
	}
	if _, err := s.conn.Write(frame); err != nil {
		s.gone = true
		return err
	}
	return nil
}

// fail tells the client why its process did not start.
func (s *execSession) fail(err error) {
	kind := failOther
	switch {
	case errors.Is(err, ErrNotFound):
		kind = failNotFound
	case errors.Is(err, ErrNotExecutable):
		kind = failNotExecutable
	}
	s.send(frameFailed, append([]byte{kind}, err.Error()...))
}

func (s *execSession) closeFiles() {
	if s.stdin != nil && s.stdin != s.tty {
		s.stdin.Close()
	}
	for _, f := range s.outputs {
		f.Close()
	}
}
