package nixfix

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// buildELF returns a minimal 64-bit little-endian x86-64 executable with the
// given PT_INTERP (none when ""), DT_RUNPATH entries and DT_NEEDED names. It
// is not runnable; it is what nixfix's ELF reader sees in a Nix binary.
func buildELF(interp string, runpath []string, needed []string) []byte {
	const (
		vaddr   = 0x400000
		hdrSize = 64
		phSize  = 56
	)
	var progs []elf.Prog64
	nph := 2 // PT_LOAD, PT_DYNAMIC
	if interp != "" {
		nph++
	}
	off := uint64(hdrSize + nph*phSize)

	var data bytes.Buffer
	interpOff := off
	if interp != "" {
		data.WriteString(interp)
		data.WriteByte(0)
	}
	strOff := off + uint64(data.Len())
	var dynstr bytes.Buffer
	dynstr.WriteByte(0)
	addStr := func(s string) uint64 {
		o := uint64(dynstr.Len())
		dynstr.WriteString(s)
		dynstr.WriteByte(0)
		return o
	}
	var dyn []elf.Dyn64
	for _, n := range needed {
		dyn = append(dyn, elf.Dyn64{Tag: int64(elf.DT_NEEDED), Val: addStr(n)})
	}
	if len(runpath) > 0 {
		joined := runpath[0]
		for _, r := range runpath[1:] {
			joined += ":" + r
		}
		dyn = append(dyn, elf.Dyn64{Tag: int64(elf.DT_RUNPATH), Val: addStr(joined)})
	}
	dyn = append(dyn,
		elf.Dyn64{Tag: int64(elf.DT_STRTAB), Val: vaddr + strOff},
		elf.Dyn64{Tag: int64(elf.DT_STRSZ), Val: uint64(dynstr.Len())},
		elf.Dyn64{Tag: int64(elf.DT_NULL)})
	data.Write(dynstr.Bytes())
	for data.Len()%8 != 0 {
		data.WriteByte(0)
	}
	dynOff := off + uint64(data.Len())
	for _, d := range dyn {
		binary.Write(&data, binary.LittleEndian, d)
	}
	total := off + uint64(data.Len())

	if interp != "" {
		progs = append(progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R),
			Off: interpOff, Vaddr: vaddr + interpOff, Paddr: vaddr + interpOff,
			Filesz: uint64(len(interp) + 1), Memsz: uint64(len(interp) + 1), Align: 1})
	}
	progs = append(progs,
		elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
			Vaddr: vaddr, Paddr: vaddr, Filesz: total, Memsz: total, Align: 0x1000},
		elf.Prog64{Type: uint32(elf.PT_DYNAMIC), Flags: uint32(elf.PF_R | elf.PF_W),
			Off: dynOff, Vaddr: vaddr + dynOff, Paddr: vaddr + dynOff,
			Filesz: uint64(len(dyn) * 16), Memsz: uint64(len(dyn) * 16), Align: 8})

	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Entry: vaddr, Phoff: hdrSize, Ehsize: hdrSize, Phentsize: phSize, Phnum: uint16(len(progs)),
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)

	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, h)
	for _, p := range progs {
		binary.Write(&out, binary.LittleEndian, p)
	}
	out.Write(data.Bytes())
	return out.Bytes()
}
