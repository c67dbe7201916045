package nixfix

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"slices"
	"testing"
)

func TestReadELFGenerated(t *testing.T) {
	const glibc = "/nix/store/0c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-glibc-2.40-66"
	tests := []struct {
		name    string
		interp  string
		runpath []string
		needed  []string
	}{
		{"nix binary", glibc + "/lib/ld-linux-x86-64.so.2", []string{glibc + "/lib"}, []string{"libc.so.6"}},
		{"two runpath entries", glibc + "/lib/ld-linux-x86-64.so.2", []string{"$ORIGIN/../lib", glibc + "/lib"}, []string{"libz.so.1", "libc.so.6"}},
		{"fhs binary", "/lib64/ld-linux-x86-64.so.2", nil, []string{"libc.so.6"}},
		{"static", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := buildELF(tt.interp, tt.runpath, tt.needed)
			got, err := ReadELF(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("ReadELF: %v", err)
			}
			if got.Interp != tt.interp || !slices.Equal(got.RunPath, tt.runpath) || !slices.Equal(got.Needed, tt.needed) {
				t.Errorf("ReadELF = %+v, want interp %q runpath %q needed %q", got, tt.interp, tt.runpath, tt.needed)
			}
			if got.Machine != elf.EM_X86_64 {
				t.Errorf("machine = %v", got.Machine)
			}
		})
	}
}

// TestReadELFHost compares ReadELF with debug/elf's full parse (sections
// included) on real binaries of the host.
func TestReadELFHost(t *testing.T) {
	for _, p := range []string{"/bin/true", "/usr/bin/env", "/bin/busybox", "/lib64/ld-linux-x86-64.so.2"} {
		t.Run(p, func(t *testing.T) {
			f, err := os.Open(p)
			if err != nil {
				t.Skipf("no %s: %v", p, err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadELF(f, st.Size())
			if err != nil {
				t.Fatalf("ReadELF: %v", err)
			}
			ef, err := elf.NewFile(f)
			if err != nil {
				t.Fatalf("debug/elf: %v", err)
			}
			var interp string
			for _, prog := range ef.Progs {
				if prog.Type == elf.PT_INTERP {
					b := make([]byte, prog.Filesz)
					if _, err := prog.ReadAt(b, 0); err != nil {
						t.Fatal(err)
					}
					interp = string(bytes.TrimRight(b, "\x00"))
				}
			}
			needed, _ := ef.DynString(elf.DT_NEEDED)
			if got.Interp != interp || !slices.Equal(got.Needed, needed) {
				t.Errorf("ReadELF = interp %q needed %q; debug/elf: interp %q needed %q", got.Interp, got.Needed, interp, needed)
			}
		})
	}
}

func TestReadELFRejects(t *testing.T) {
	nix := buildELF("/nix/store/0c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-glibc-2.40-66/lib/ld.so", []string{"/x"}, []string{"libc.so.6"})
	badStrtab := bytes.Clone(nix)
	// Point every DT_STRTAB value far outside the PT_LOAD segment.
	for i := 0; i+16 <= len(badStrtab); i += 8 {
		if elf.DynTag(le64(badStrtab[i:])) == elf.DT_STRTAB {
			copy(badStrtab[i+8:], []byte{0, 0, 0, 0, 0, 0, 0, 0x7f})
		}
	}
	tests := map[string][]byte{
		"empty":      nil,
		"script":     []byte("#!/bin/sh\necho hi\n"),
		"magic only": []byte("\x7fELF"),
		"bad class":  append([]byte("\x7fELF\x09\x01\x01"), make([]byte, 60)...),
		"truncated":  nix[:80],
		"bad strtab": badStrtab,
		"unterminated interp": func() []byte {
			b := bytes.Clone(nix)
			i := bytes.Index(b, []byte("ld.so\x00"))
			b[i+len("ld.so")] = 'x'
			return b
		}(),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadELF(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, ErrNotELF) {
				t.Errorf("ReadELF = %v, want ErrNotELF", err)
			}
		})
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func FuzzReadELF(f *testing.F) {
	f.Add(buildELF("/nix/store/0c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-glibc-2.40-66/lib/ld-linux-x86-64.so.2",
		[]string{"/nix/store/0c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-glibc-2.40-66/lib"}, []string{"libc.so.6"}))
	f.Add(buildELF("", nil, nil))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ReadELF(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if len(info.Interp) > elfStrMax || len(info.Needed) > elfMaxValues {
			t.Fatalf("unbounded result: %d-byte interp, %d needed", len(info.Interp), len(info.Needed))
		}
	})
}
