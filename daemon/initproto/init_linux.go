package initproto

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure Run, quilt-init's behaviour as PID 1.
type Options struct {
	// Args is the command and its arguments. Args[0] is looked up in
	// the PATH of quilt-init's environment (DefaultPath when it has
	// none); the command inherits that environment and working
	// directory.
	Args []string
	// Credential is the user to run the command as; nil keeps
	// quilt-init's.
	Credential *syscall.Credential
	// Log receives the command's stdout and stderr as CRI log records
	// (LogFD, opened O_APPEND).
	Log *os.File
	// Status receives the ExitStatus as JSON (StatusFD).
	Status *os.File
	// Agent is the exec agent's listening socket as OpenAgent returns
	// it; nil serves no exec requests.
	Agent *os.File
	// Seccomp, when not nil, holds the seccomp filter (SeccompFD) that
	// Run loads before it starts the command; when it cannot, the
	// command never runs.
	Seccomp *os.File
}

// Run is quilt-init: it starts the command with stdin /dev/null and its
// stdout and stderr logged to opts.Log, forwards every signal it receives
// to it (but SIGCHLD; SIGPIPE, which quilt-init's own writes to a closed
// pipe or socket raise; and SIGURG, which the Go runtime uses), reaps
// every child, orphans included, and serves exec requests on
// opts.Agent. When the command exits it reads what is left of its output
// (at most about a second), writes the exit status to opts.Status and
// returns the exit code for quilt-init to exit with.
func Run(opts Options) int {
	// Catch every signal. The Go runtime enables them one at a time,
	// each a round trip to its signal-mask thread (about 3 ms for all of
	// them here), so that goes on while the command starts; signals that
	// come meanwhile are ignored, as they are before quilt-init runs at
	// all: PID 1 gets no signal it has no handler for. A SIGCHLD missed
	// meanwhile is made up for by one reap once all are caught.
	signals := make(chan os.Signal, 64)
	caught := make(chan struct{})
	go func() {
		signal.Notify(signals)
		close(caught)
	}()
	if os.Getpid() != 1 {
		// Orphans are reparented to PID 1 in a container; elsewhere
		// (tests) they come to us only as a subreaper.
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		// And elsewhere a signal without a handler kills quilt-init
		// rather than being ignored: catch them before the command runs.
		<-caught
	}
	r := newReaper()
	stderr := NewLogWriter(opts.Log, Stderr)
	if opts.Seccomp != nil {
		if err := LoadSeccomp(opts.Seccomp); err != nil {
			stderr.WriteLine("quilt-init: " + err.Error())
			return finish(&opts, ExitStatus{ExitCode: 126, Finished: time.Now().UTC()}, stderr)
		}
	}

	cmd, pumps, err := startCommand(r, &opts)
	<-caught
	r.reap()
	if err != nil {
		code := 126
		if errors.Is(err, ErrNotFound) {
			code = 127
		}
		stderr.WriteLine("quilt-init: " + err.Error())
		return finish(&opts, ExitStatus{ExitCode: code, Finished: time.Now().UTC()}, stderr)
	}
	if opts.Agent != nil {
		go func() {
			if err := newAgent(r).serve(opts.Agent); err != nil {
				stderr.WriteLine("quilt-init: " + err.Error())
			}
		}()
	}
wait:
	for {
		select {
		case sig := <-signals:
			switch sig {
			case unix.SIGCHLD:
				r.reap()
			case unix.SIGPIPE, unix.SIGURG:
			default:
				if s, ok := sig.(syscall.Signal); ok {
					r.signal(cmd, s, false)
				}
			}
		case <-cmd.done:
			break wait
		}
	}
	st := statusFromWait(cmd.pid, cmd.status, time.Now().UTC()) // UTC: no time zone to load
	pumps.drain(time.Now().Add(drainTimeout))
	return finish(&opts, st, stderr)
}

// finish writes the exit status and returns the exit code.
func finish(opts *Options, st ExitStatus, stderr *LogWriter) int {
	if err := writeExitStatus(opts.Status, st); err != nil {
		stderr.WriteLine("quilt-init: " + err.Error())
	}
	return st.ExitCode
}

// startCommand starts opts.Args with stdin /dev/null and its stdout and
// stderr pumped into opts.Log.
func startCommand(r *reaper, opts *Options) (*child, *logPumps, error) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, nil, &execError{name: first(opts.Args), err: err}
	}
	defer devNull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, &execError{name: first(opts.Args), err: wrap(err, "stdout")}
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, &execError{name: first(opts.Args), err: wrap(err, "stderr")}
	}
	c, err := r.spawn(&spawn{
		args:  opts.Args,
		env:   os.Environ(),
		cred:  opts.Credential,
		files: []uintptr{devNull.Fd(), outW.Fd(), errW.Fd()},
	})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, nil, err
	}
	p := &logPumps{pipes: []*os.File{outR, errR}}
	p.start(opts.Log)
	return c, p, nil
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// logPumps copy the command's stdout and stderr pipes into the log.
type logPumps struct {
	pipes []*os.File
	wg    sync.WaitGroup
}

func (p *logPumps) start(log *os.File) {
	for i, pipe := range p.pipes {
		w := NewLogWriter(log, Stream(i+1))
		p.wg.Go(func() {
			buf := make([]byte, MaxRecord)
			for {
				n, err := pipe.Read(buf)
				if n > 0 {
					w.Write(buf[:n])
				}
				if err != nil {
					break
				}
			}
			w.Flush()
		})
	}
}

// drain waits until the pipes are read to their end, or to deadline when
// a child that outlives the command holds them open.
func (p *logPumps) drain(deadline time.Time) {
	for _, pipe := range p.pipes {
		pipe.SetReadDeadline(deadline)
	}
	p.wg.Wait()
}
