package daemon

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/daemon/initproto"
	"github.com/quilt-runtime/quilt/libquilt"
)

func testSpec() *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{NoNewPrivileges: true, Args: []string{initproto.InitPath, "--user", "0:0", "--", "true"}},
		Linux:   &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}},
	}
}

func TestUseCompiledSeccomp(t *testing.T) {
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	var compiles atomic.Int32
	d := &Daemon{seccomp: newSeccompCache(logrus.NewEntry(logrus.New()))}
	d.seccomp.compile = func(*specs.LinuxSeccomp) (*libquilt.SeccompFilter, error) {
		compiles.Add(1)
		return &libquilt.SeccompFilter{Program: prog, Flags: unix.SECCOMP_FILTER_FLAG_LOG}, nil
	}
	for range 2 {
		s := testSpec()
		f, err := d.useCompiledSeccomp(s)
		if err != nil || f == nil {
			t.Fatalf("useCompiledSeccomp: %v, %v", f, err)
		}
		flags, got, err := initproto.ReadSeccomp(f)
		f.Close()
		if err != nil || flags != unix.SECCOMP_FILTER_FLAG_LOG || !slices.Equal(got, prog) {
			t.Errorf("filter file: %#x %v %v", flags, got, err)
		}
		if s.Linux.Seccomp != nil || !slices.Equal(s.Process.Args, []string{initproto.InitPath, "--seccomp", "--user", "0:0", "--", "true"}) {
			t.Errorf("spec: seccomp %v, args %q", s.Linux.Seccomp, s.Process.Args)
		}
	}
	if n := compiles.Load(); n != 1 {
		t.Errorf("compiled %d times, want once", n)
	}
}

// TestUseCompiledSeccompFallback: libcontainer keeps the profile when it
// cannot be compiled or when the process may gain privileges.
func TestUseCompiledSeccompFallback(t *testing.T) {
	d := &Daemon{seccomp: newSeccompCache(logrus.NewEntry(logrus.New()))}
	d.seccomp.compile = func(*specs.LinuxSeccomp) (*libquilt.SeccompFilter, error) {
		return nil, errors.New("no ptrace here")
	}
	s := testSpec()
	if f, err := d.useCompiledSeccomp(s); f != nil || err != nil || s.Linux.Seccomp == nil || s.Process.Args[1] != "--user" {
		t.Errorf("compile error: %v, %v, spec %+v", f, err, s.Process.Args)
	}
	d.seccomp.compile = func(*specs.LinuxSeccomp) (*libquilt.SeccompFilter, error) {
		t.Error("compiled a profile for a process without no_new_privs")
		return nil, errors.New("unexpected")
	}
	s = testSpec()
	s.Process.NoNewPrivileges = false
	if f, err := d.useCompiledSeccomp(s); f != nil || err != nil || s.Linux.Seccomp == nil {
		t.Errorf("no_new_privs off: %v, %v", f, err)
	}
}
