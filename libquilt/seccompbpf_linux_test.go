package libquilt

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// loadTestFilterEnv names the file of raw sock_filter instructions that
// the test binary, re-executed by TestCompileSeccomp, loads before it
// calls getcwd and prints the errno.
const loadTestFilterEnv = "QUILT_TEST_SECCOMP_PROGRAM"

func TestMain(m *testing.M) {
	if IsSeccompCompiler() {
		RunSeccompCompiler()
	}
	if path := os.Getenv(loadTestFilterEnv); path != "" {
		os.Exit(loadAndGetcwd(path))
	}
	os.Exit(m.Run())
}

func loadAndGetcwd(path string) int {
	runtime.LockOSThread()
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || len(b)%8 != 0 {
		os.Stderr.WriteString("bad program file\n")
		return 2
	}
	prog := unsafe.Slice((*unix.SockFilter)(unsafe.Pointer(&b[0])), len(b)/8)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 2
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		os.Stderr.WriteString("load: " + errno.Error() + "\n")
		return 2
	}
	buf := make([]byte, 4096)
	_, err = unix.Getcwd(buf)
	var errno unix.Errno
	errors.As(err, &errno)
	os.Stdout.WriteString(strconv.Itoa(int(errno)) + "\n")
	return 0
}

func TestCompileSeccompRefuses(t *testing.T) {
	for _, p := range []*specs.LinuxSeccomp{
		{DefaultAction: specs.ActAllow, ListenerPath: "/run/listener.sock"},
		{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
	} {
		if _, err := CompileSeccomp(p); !errors.Is(err, ErrSeccompNotCompilable) {
			t.Errorf("CompileSeccomp(%+v): %v, want ErrSeccompNotCompilable", p, err)
		}
	}
}

// TestCompileSeccomp compiles a profile that makes getcwd fail with errno
// 42, loads the program into a child and sees getcwd fail so.
func TestCompileSeccomp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: ptrace of the compiler process")
	}
	if !seccomp.Enabled {
		t.Skip("built without the seccomp tag")
	}
	ret := uint(42)
	f, err := CompileSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagSpecAllow},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: &ret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Program) < 4 || f.Flags != unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW {
		t.Fatalf("program of %d instructions, flags %#x", len(f.Program), f.Flags)
	}
	path := filepath.Join(t.TempDir(), "prog")
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&f.Program[0])), 8*len(f.Program))
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), loadTestFilterEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "42" {
		t.Errorf("getcwd under the compiled filter: errno %s, want 42", got)
	}
}
