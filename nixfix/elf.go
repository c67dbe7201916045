package nixfix

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Read bounds for ELF analysis (SEC-3): the ELF and program headers must
// lie in the first elfHeadMax bytes; the dynamic segment is read up to
// elfDynMax bytes; strings up to elfStrMax bytes each.
const (
	elfHeadMax   = 64 << 10
	elfDynMax    = 64 << 10
	elfStrMax    = 4 << 10
	elfMaxValues = 1024
)

// ELFInfo is what the loader needs from an ELF file before it can run it.
type ELFInfo struct {
	// Machine is the ELF machine, e.g. elf.EM_X86_64.
	Machine elf.Machine
	// Interp is PT_INTERP, the program interpreter; "" for a static file.
	Interp string
	// RunPath holds the DT_RUNPATH entries, or the DT_RPATH entries when
	// there is no DT_RUNPATH (the loader ignores DT_RPATH then).
	RunPath []string
	// Needed holds the DT_NEEDED library names.
	Needed []string
}

// IsELF reports whether head starts with the ELF magic.
func IsELF(head []byte) bool { return bytes.HasPrefix(head, []byte(elf.ELFMAG)) }

// ReadELF reads the program interpreter and the dynamic entries of the ELF
// file r of the given size. Only program headers are used, as the kernel and
// the loader do, so stripped section tables do not matter; reads are
// bounded (ELF and program headers in the first 64 KiB).
func ReadELF(r io.ReaderAt, size int64) (ELFInfo, error) {
	head := make([]byte, min(size, elfHeadMax))
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return ELFInfo{}, fmt.Errorf("read ELF header: %w", err)
	}
	head = head[:n]
	if !IsELF(head) || len(head) <= elf.EI_DATA {
		return ELFInfo{}, ErrNotELF
	}
	if err := hideSections(head); err != nil {
		return ELFInfo{}, err
	}
	f, err := elf.NewFile(bytes.NewReader(head))
	if err != nil {
		return ELFInfo{}, fmt.Errorf("%w: %w", ErrNotELF, err)
	}
	info := ELFInfo{Machine: f.Machine}
	var dyn *elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			s, err := readCString(r, int64(p.Off), min(p.Filesz, elfStrMax))
			if err != nil {
				return ELFInfo{}, fmt.Errorf("read PT_INTERP: %w", err)
			}
			info.Interp = s
		case elf.PT_DYNAMIC:
			dyn = p
		}
	}
	if dyn != nil {
		if err := readDynamic(r, f, dyn, &info); err != nil {
			return ELFInfo{}, err
		}
	}
	return info, nil
}

// hideSections clears the section header fields of an ELF header in place,
// so that debug/elf parses only the file and program headers from the
// bounded prefix (the section table usually sits at the end of the file).
func hideSections(h []byte) error {
	var bo binary.ByteOrder
	switch elf.Data(h[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return fmt.Errorf("%w: unknown byte order %d", ErrNotELF, h[elf.EI_DATA])
	}
	// Offsets of e_shoff, e_shnum and e_shstrndx in Header32/Header64.
	switch elf.Class(h[elf.EI_CLASS]) {
	case elf.ELFCLASS32:
		if len(h) < 52 {
			return fmt.Errorf("%w: short header", ErrNotELF)
		}
		bo.PutUint32(h[32:], 0)
		bo.PutUint16(h[48:], 0)
		bo.PutUint16(h[50:], 0)
	case elf.ELFCLASS64:
		if len(h) < 64 {
			return fmt.Errorf("%w: short header", ErrNotELF)
		}
		bo.PutUint64(h[40:], 0)
		bo.PutUint16(h[60:], 0)
		bo.PutUint16(h[62:], 0)
	default:
		return fmt.Errorf("%w: unknown class %d", ErrNotELF, h[elf.EI_CLASS])
	}
	return nil
}

// readDynamic reads DT_NEEDED, DT_RUNPATH and DT_RPATH from the dynamic
// segment; their strings live in DT_STRTAB, a virtual address that the
// PT_LOAD segments map to a file offset.
func readDynamic(r io.ReaderAt, f *elf.File, dyn *elf.Prog, info *ELFInfo) error {
	buf := make([]byte, min(dyn.Filesz, elfDynMax))
	n, err := r.ReadAt(buf, int64(dyn.Off))
	if err != nil && err != io.EOF {
		return fmt.Errorf("read PT_DYNAMIC: %w", err)
	}
	buf = buf[:n]
	entSize := 16
	if f.Class == elf.ELFCLASS32 {
		entSize = 8
	}
	var strtab, strsz uint64
	var needed, runpath, rpath []uint64
	for off := 0; off+entSize <= len(buf); off += entSize {
		var tag, val uint64
		if entSize == 16 {
			tag, val = f.ByteOrder.Uint64(buf[off:]), f.ByteOrder.Uint64(buf[off+8:])
		} else {
			tag, val = uint64(f.ByteOrder.Uint32(buf[off:])), uint64(f.ByteOrder.Uint32(buf[off+4:]))
		}
		switch elf.DynTag(tag) {
		case elf.DT_NULL:
			off = len(buf)
		case elf.DT_STRTAB:
			strtab = val
		case elf.DT_STRSZ:
			strsz = val
		case elf.DT_NEEDED:
			needed = appendBounded(needed, val)
		case elf.DT_RUNPATH:
			runpath = appendBounded(runpath, val)
		case elf.DT_RPATH:
			rpath = appendBounded(rpath, val)
		}
	}
	if len(needed)+len(runpath)+len(rpath) == 0 {
		return nil
	}
	base, ok := vaddrOffset(f, strtab)
	if !ok {
		return fmt.Errorf("%w: DT_STRTAB %#x is not in a PT_LOAD segment", ErrNotELF, strtab)
	}
	str := func(o uint64) (string, error) {
		if strsz != 0 && o >= strsz {
			return "", fmt.Errorf("%w: string offset %#x beyond DT_STRSZ", ErrNotELF, o)
		}
		return readCString(r, int64(base+o), elfStrMax)
	}
	for _, o := range needed {
		s, err := str(o)
		if err != nil {
			return fmt.Errorf("read DT_NEEDED: %w", err)
		}
		info.Needed = append(info.Needed, s)
	}
	paths := runpath
	if len(paths) == 0 {
		paths = rpath
	}
	for _, o := range paths {
		s, err := str(o)
		if err != nil {
			return fmt.Errorf("read DT_RUNPATH: %w", err)
		}
		for _, e := range strings.Split(s, ":") {
			if e != "" {
				info.RunPath = append(info.RunPath, e)
			}
		}
	}
	return nil
}

func appendBounded(s []uint64, v uint64) []uint64 {
	if len(s) >= elfMaxValues {
		return s
	}
	return append(s, v)
}

func vaddrOffset(f *elf.File, v uint64) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr <= v && v-p.Vaddr < p.Filesz {
			return v - p.Vaddr + p.Off, true
		}
	}
	return 0, false
}

// readCString reads a NUL-terminated string of at most limit bytes at off.
func readCString(r io.ReaderAt, off int64, limit uint64) (string, error) {
	if off < 0 {
		return "", fmt.Errorf("%w: negative offset", ErrNotELF)
	}
	buf := make([]byte, limit)
	n, err := r.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return "", err
	}
	buf = buf[:n]
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		return string(buf[:i]), nil
	}
	return "", fmt.Errorf("%w: unterminated string at %#x", ErrNotELF, off)
}
