package initproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompMagic starts an encoded seccomp filter.
const seccompMagic = "QSF1"

// EncodeSeccomp encodes a classic BPF seccomp program and its
// SECCOMP_FILTER_FLAG_* flags for SeccompFD: the magic, the flags and the
// instruction count as 32-bit words, then the instructions, all in the
// machine's byte order.
func EncodeSeccomp(flags uint, prog []unix.SockFilter) []byte {
	b := make([]byte, 0, 12+8*len(prog))
	b = append(b, seccompMagic...)
	b = binary.NativeEndian.AppendUint32(b, uint32(flags))
	b = binary.NativeEndian.AppendUint32(b, uint32(len(prog)))
	for _, in := range prog {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b
}

// DecodeSeccomp is EncodeSeccomp's inverse.
func DecodeSeccomp(b []byte) (flags uint, prog []unix.SockFilter, err error) {
	if len(b) < 12 || string(b[:4]) != seccompMagic {
		return 0, nil, errors.New("seccomp filter: not an encoded filter")
	}
	flags = uint(binary.NativeEndian.Uint32(b[4:]))
	n := int(binary.NativeEndian.Uint32(b[8:]))
	b = b[12:]
	if n == 0 || n > unix.BPF_MAXINSNS || len(b) != 8*n {
		return 0, nil, fmt.Errorf("seccomp filter: %d instructions in %d bytes", n, len(b))
	}
	prog = make([]unix.SockFilter, n)
	for i := range prog {
		in := b[8*i:]
		prog[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.NativeEndian.Uint32(in[4:])}
	}
	return flags, prog, nil
}

// LoadSeccomp reads an encoded filter from f, closes f and loads the
// filter into every thread of this process (SECCOMP_FILTER_FLAG_TSYNC), so
// that every process started from here on runs under it. It sets
// no_new_privs first, as an unprivileged process must.
func LoadSeccomp(f *os.File) error {
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("seccomp filter: %w", err)
	}
	flags, prog, err := DecodeSeccomp(b)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp filter: no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(flags|unix.SECCOMP_FILTER_FLAG_TSYNC), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	switch {
	case errno != 0:
		return fmt.Errorf("seccomp filter: load: %w", errno)
	case r != 0:
		return fmt.Errorf("seccomp filter: load: thread %d cannot take it", r)
	}
	return nil
}
