package libquilt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrSeccompNotCompilable says that a seccomp profile cannot be compiled
// ahead of time: it needs a notification listener, or flags other than
// SECCOMP_FILTER_FLAG_LOG and SECCOMP_FILTER_FLAG_SPEC_ALLOW, or Quilt
// was built without seccomp support. libcontainer loads such a profile
// itself, as it loads any other.
var ErrSeccompNotCompilable = errors.New("seccomp profile cannot be compiled ahead of time")

// SeccompFilter is a seccomp profile compiled to the classic BPF program
// libcontainer would load for it (libseccomp's filter with libcontainer's
// -ENOSYS handling of syscalls newer than the profile), and the flags to
// load it with.
type SeccompFilter struct {
	Program []unix.SockFilter
	// Flags are SECCOMP_FILTER_FLAG_* bits.
	Flags uint
}

// seccompCompilerArg is the argument that makes the binary the compiler
// child of CompileSeccomp (see libquilt/reexec).
const seccompCompilerArg = "__quilt_seccomp_compile"

// seccompCompileTimeout bounds the compiler child.
const seccompCompileTimeout = 20 * time.Second

// CompileSeccomp compiles a profile once, so that the containers that use
// it can load the program instead of having libcontainer compile it in
// every container's init: libseccomp takes about 30 ms for Docker's
// default profile on its three x86 architectures.
//
// The compiling is libcontainer's own: a child process (this binary, which
// must import libquilt/reexec) loads the profile into itself exactly as a
// container's init does, and this process reads the loaded program back
// with PTRACE_SECCOMP_GET_FILTER. That needs CAP_SYS_ADMIN and
// CAP_SYS_PTRACE, and a kernel with CONFIG_CHECKPOINT_RESTORE.
func CompileSeccomp(s *specs.LinuxSeccomp) (*SeccompFilter, error) {
	if !seccomp.Enabled {
		return nil, fmt.Errorf("%w: built without seccomp support", ErrSeccompNotCompilable)
	}
	if s == nil {
		return nil, errors.New("compile seccomp profile: no profile")
	}
	if s.ListenerPath != "" {
		return nil, fmt.Errorf("%w: it has a notification listener", ErrSeccompNotCompilable)
	}
	var flags uint
	for _, f := range s.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		default:
			return nil, fmt.Errorf("%w: flag %s", ErrSeccompNotCompilable, f)
		}
	}
	config, err := specconv.SetupSeccomp(s)
	if err != nil {
		return nil, fmt.Errorf("compile seccomp profile: %w", err)
	}
	prog, err := compileInChild(config)
	if err != nil {
		return nil, fmt.Errorf("compile seccomp profile: %w", err)
	}
	return &SeccompFilter{Program: prog, Flags: flags}, nil
}

// compileInChild runs the compiler child and reads its filter. The
// ptrace requests come from one locked thread, the tracer; the thread
// ends with the goroutine, never to be reused half-way.
func compileInChild(config *configs.Seccomp) ([]unix.SockFilter, error) {
	input, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	type result struct {
		prog []unix.SockFilter
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		prog, err := traceCompiler(input)
		done <- result{prog, err}
	}()
	r := <-done
	return r.prog, r.err
}

func traceCompiler(input []byte) (_ []unix.SockFilter, retErr error) {
	cmd := exec.Command("/proc/self/exe", seccompCompilerArg)
	// The child waits to be killed; should this process die first, the
	// kernel kills it (the forking thread is locked until it is reaped).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("compiler process: %w", err)
	}
	timer := time.AfterFunc(seccompCompileTimeout, func() { _ = cmd.Process.Kill() })
	defer func() {
		timer.Stop()
		_ = cmd.Process.Kill()
		werr := cmd.Wait()
		if retErr != nil && stderr.Len() > 0 {
			retErr = fmt.Errorf("%w: %s", retErr, strings.TrimSpace(stderr.String()))
		} else if retErr != nil && werr != nil {
			retErr = fmt.Errorf("%w (compiler process: %v)", retErr, werr)
		}
	}()
	// The child says its thread id, then "loaded" once the filter is on
	// that thread.
	lines := bufio.NewScanner(out)
	var tid int
	if lines.Scan() {
		tid, err = strconv.Atoi(lines.Text())
	}
	if tid <= 0 || err != nil {
		return nil, errors.New("the compiler process did not start")
	}
	if !lines.Scan() || lines.Text() != "loaded" {
		return nil, errors.New("the compiler process did not load the profile")
	}
	if err := unix.PtraceSeize(tid); err != nil {
		return nil, fmt.Errorf("ptrace: %w", err)
	}
	if err := unix.PtraceInterrupt(tid); err != nil {
		return nil, fmt.Errorf("ptrace: %w", err)
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(tid, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wait for the compiler process: %w", err)
		}
		if !ws.Stopped() {
			return nil, fmt.Errorf("the compiler process ended (%v)", ws)
		}
		break
	}
	n, err := seccompGetFilter(tid, nil)
	if err != nil {
		return nil, fmt.Errorf("read the filter: %w", err)
	}
	if n == 0 || n > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("read the filter: %d instructions", n)
	}
	prog := make([]unix.SockFilter, n)
	if _, err := seccompGetFilter(tid, prog); err != nil {
		return nil, fmt.Errorf("read the filter: %w", err)
	}
	return prog, nil
}

// seccompGetFilter is PTRACE_SECCOMP_GET_FILTER for the newest filter of
// tid: its length when prog is nil, else the program copied into prog.
func seccompGetFilter(tid int, prog []unix.SockFilter) (int, error) {
	var p unsafe.Pointer
	if len(prog) > 0 {
		p = unsafe.Pointer(&prog[0])
	}
	n, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(tid), 0, uintptr(p), 0, 0)
	runtime.KeepAlive(prog)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// IsSeccompCompiler reports whether this process is CompileSeccomp's
// child.
func IsSeccompCompiler() bool { return len(os.Args) == 2 && os.Args[1] == seccompCompilerArg }

// RunSeccompCompiler is CompileSeccomp's child: it reads libcontainer's
// seccomp configuration on stdin, writes its thread id, loads the
// configuration into that thread as libcontainer does in a container's
// init, writes "loaded" and waits to be killed. It does not return.
func RunSeccompCompiler() {
	runtime.LockOSThread()
	var config configs.Seccomp
	if err := json.NewDecoder(os.Stdin).Decode(&config); err != nil {
		fmt.Fprintf(os.Stderr, "seccomp configuration: %v\n", err)
		os.Exit(1)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "no_new_privs: %v\n", err)
		os.Exit(1)
	}
	// Written raw: after the load, nothing but these syscalls runs, and a
	// profile may well deny what the Go runtime would do in between.
	_, _ = unix.Write(1, []byte(strconv.Itoa(unix.Gettid())+"\n"))
	if _, err := seccomp.InitSeccomp(&config); err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		os.Exit(1)
	}
	_, _ = unix.Write(1, []byte("loaded\n"))
	for {
		// Stopped here by the tracer, then killed.
		if err := unix.Pause(); err != nil && !errors.Is(err, unix.EINTR) {
			_ = unix.Nanosleep(&unix.Timespec{Sec: 1}, nil)
		}
	}
}
