package daemon

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/daemon/initproto"
	"github.com/quilt-runtime/quilt/libquilt"
)

// seccompCache holds seccomp profiles compiled once per daemon
// (libquilt.CompileSeccomp), by the profile's content. Containers load the
// compiled filter in quilt-init instead of having libcontainer compile the
// profile in each container's init, about 30 ms per container for Docker's
// default profile.
type seccompCache struct {
	log *logrus.Entry
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*compiledSeccomp
	// compile is libquilt.CompileSeccomp; tests replace it.
	compile func(*specs.LinuxSeccomp) (*libquilt.SeccompFilter, error)
}

type compiledSeccomp struct {
	once    sync.Once
	encoded []byte // initproto.EncodeSeccomp's
	err     error
}

func newSeccompCache(log *logrus.Entry) *seccompCache {
	return &seccompCache{log: log, m: map[[sha256.Size]byte]*compiledSeccomp{}, compile: libquilt.CompileSeccomp}
}

// get returns the profile's encoded filter, compiling it on first use;
// callers that ask for a profile being compiled wait for it.
func (c *seccompCache) get(p *specs.LinuxSeccomp) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256(b)
	c.mu.Lock()
	e, ok := c.m[key]
	if !ok {
		e = &compiledSeccomp{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		f, err := c.compile(p)
		if err != nil {
			e.err = err
			if !errors.Is(err, libquilt.ErrSeccompNotCompilable) {
				c.log.WithError(err).Warn("compiling a seccomp profile: containers that use it compile it themselves")
			}
			return
		}
		e.encoded = initproto.EncodeSeccomp(f.Flags, f.Program)
	})
	return e.encoded, e.err
}

// useCompiledSeccomp moves the spec's seccomp profile, once compiled, from
// libcontainer to quilt-init: it returns the filter as a sealed memfd for
// SeccompFD and the spec without the profile, quilt-init told to load it.
// It returns nil and leaves the spec as it is when the profile cannot be
// compiled, or when the process may gain privileges (quilt-init, like any
// process without CAP_SYS_ADMIN, can load a filter only with
// no_new_privs).
func (d *Daemon) useCompiledSeccomp(s *specs.Spec) (*os.File, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil || s.Process == nil || !s.Process.NoNewPrivileges ||
		len(s.Process.Args) == 0 || s.Process.Args[0] != initproto.InitPath {
		return nil, nil
	}
	encoded, err := d.seccomp.get(s.Linux.Seccomp)
	if err != nil {
		// get has said why, once; libcontainer compiles it instead.
		return nil, nil
	}
	f, err := sealedFile("quilt-seccomp", encoded)
	if err != nil {
		return nil, fmt.Errorf("seccomp filter: %w", err)
	}
	s.Linux.Seccomp = nil
	s.Process.Args = append([]string{initproto.InitPath, "--seccomp"}, s.Process.Args[1:]...)
	return f, nil
}

// sealedFile returns a memfd holding data that nobody can change any more.
func sealedFile(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
