package initproto

import (
	"encoding/binary"
	"fmt"
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

// LoadSeccomp reads an encoded filter from f, closes f and loads the
// filter into every thread of this process (SECCOMP_FILTER_FLAG_TSYNC), so
// that every process started from here on runs under it. It sets
// no_new_privs first, as an unprivileged process must.
func LoadSeccomp(f *os.File) error {
	flags, prog, err := ReadSeccomp(f)
	f.Close()
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

// ReadSeccomp reads a filter that EncodeSeccomp encoded from f, with two
// reads and one allocation: the instructions go straight into the program, whose
// layout (code, jt, jf, k in the machine's byte order) is the encoding's.
// io.ReadAll's growing buffers cost quilt-init about a millisecond.
func ReadSeccomp(f *os.File) (uint, []unix.SockFilter, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, nil, fmt.Errorf("seccomp filter: %w", err)
	}
	size := st.Size()
	if size < 12 || (size-12)%8 != 0 || (size-12)/8 > unix.BPF_MAXINSNS {
		return 0, nil, fmt.Errorf("seccomp filter: %d bytes: not an encoded filter", size)
	}
	var hdr [12]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, nil, fmt.Errorf("seccomp filter: %w", err)
	}
	n := int(binary.NativeEndian.Uint32(hdr[8:]))
	if string(hdr[:4]) != seccompMagic || n == 0 || int64(n) != (size-12)/8 {
		return 0, nil, fmt.Errorf("seccomp filter: %d bytes: not an encoded filter", size)
	}
	prog := make([]unix.SockFilter, n)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), 8*n)
	if _, err := f.ReadAt(raw, 12); err != nil {
		return 0, nil, fmt.Errorf("seccomp filter: %w", err)
	}
	return uint(binary.NativeEndian.Uint32(hdr[4:])), prog, nil
}
