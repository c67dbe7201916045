package shell

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Read limits for files of unknown origin: the kernel reads at most 256
// bytes of a #! line, and program headers sit near the start of an ELF
// file.
const (
	shebangMax = 256
	elfMax     = 64 << 10
)

// diagnosis explains why a file that execve refused with ENOENT cannot
// start, following the same chain as the kernel: symlinks, then a #!
// interpreter, then an ELF program interpreter.
type diagnosis struct {
	exists bool     // the path itself (maybe a dangling link) exists
	chain  []string // the path and each symlink target followed
	reason string   // the first missing element, or "" if none was found
	// shell is the #! interpreter when it is missing and its basename is
	// sh, bash, dash or ash (also via /usr/bin/env), else "".
	shell string
	// shellArg is the argument on that #! line ("-e" in "#!/bin/sh -e"),
	// except for the shell name after env.
	shellArg string
}

// diagnose inspects path in the current root.
func diagnose(path string) diagnosis {
	d := diagnosis{chain: []string{path}}
	if _, err := os.Lstat(path); err != nil {
		d.reason = "no such file"
		return d
	}
	d.exists = true
	p := path
	for hops := 0; ; hops++ {
		fi, err := os.Lstat(p)
		if err != nil {
			d.reason = fmt.Sprintf("dangling symlink: %s missing", p)
			return d
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			break
		}
		if hops >= 40 {
			d.reason = "symlink loop"
			return d
		}
		target, err := os.Readlink(p)
		if err != nil {
			d.reason = describe(err)
			return d
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
		d.chain = append(d.chain, p)
	}
	if _, err := os.Stat(p); err != nil {
		// A directory on the way is a dangling link.
		d.reason = fmt.Sprintf("%s unreachable: %s", p, errnoText(unwrapPath(err)))
		return d
	}
	f, err := os.Open(p)
	if err != nil {
		d.reason = describe(err)
		return d
	}
	defer f.Close()
	head := make([]byte, shebangMax)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		interp, arg, ok := parseShebang(head)
		if !ok {
			d.reason = "empty #! line"
			return d
		}
		if _, err := os.Stat(interp); err == nil {
			if sub := diagnose(interp); sub.reason != "" {
				d.reason = fmt.Sprintf("#! interpreter %s is broken (%s)", interp, sub.reason)
			}
			if base := filepath.Base(interp); base == "env" && isShellName(arg) && d.reason != "" {
				d.shell = arg
			}
			return d
		}
		d.reason = fmt.Sprintf("#! interpreter %s missing", interp)
		if base := filepath.Base(interp); isShellName(base) {
			d.shell, d.shellArg = interp, arg
		} else if base == "env" && isShellName(arg) {
			d.shell = arg
		}
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		interp, err := elfInterp(io.NewSectionReader(f, 0, elfMax))
		if err != nil {
			d.reason = fmt.Sprintf("bad ELF file: %v", err)
			return d
		}
		if interp == "" {
			return d
		}
		if _, err := os.Stat(interp); err != nil {
			d.reason = fmt.Sprintf("ELF interpreter %s missing", interp)
		}
	}
	return d
}

func isShellName(name string) bool {
	switch name {
	case "sh", "bash", "dash", "ash":
		return true
	}
	return false
}

// String renders the diagnosis for the diagnose builtin.
func (d diagnosis) String() string {
	var b strings.Builder
	b.WriteString(strings.Join(d.chain, " -> "))
	if d.reason == "" {
		b.WriteString(": no missing element found")
	} else {
		b.WriteString(": " + d.reason)
	}
	return b.String()
}

// parseShebang splits a #! line as Linux does: the interpreter is the
// first word after "#!", and the rest of the line, trimmed, is one
// optional argument. Only the first shebangMax bytes count.
func parseShebang(head []byte) (interp, arg string, ok bool) {
	if !bytes.HasPrefix(head, []byte("#!")) {
		return "", "", false
	}
	if len(head) > shebangMax {
		head = head[:shebangMax]
	}
	line := head[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.Trim(line, " \t\r\x00")
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	if len(line) == 0 {
		return "", "", false
	}
	word, rest, _ := bytes.Cut(line, []byte(" "))
	if i := bytes.IndexByte(word, '\t'); i >= 0 {
		word, rest = word[:i], append(word[i+1:], rest...)
	}
	return string(word), strings.Trim(string(rest), " \t"), true
}

// errELF reports a malformed ELF header.
var errELF = errors.New("malformed header")

// elfInterp returns the PT_INTERP path of an ELF file ("" for a static
// binary), reading only what r holds (the first elfMax bytes).
func elfInterp(r io.ReaderAt) (string, error) {
	var ident [16]byte
	if _, err := r.ReadAt(ident[:], 0); err != nil || string(ident[:4]) != "\x7fELF" {
		return "", errELF
	}
	var bo binary.ByteOrder
	switch ident[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return "", errELF
	}
	// Offsets of e_phoff, e_phentsize, e_phnum and, in a program header,
	// of p_offset and p_filesz, for ELFCLASS32 and ELFCLASS64.
	var phoff, entsize, num uint64
	var offAt, sizeAt, word int
	hdr := make([]byte, 64)
	if _, err := r.ReadAt(hdr, 0); err != nil && !errors.Is(err, io.EOF) {
		return "", errELF
	}
	switch ident[4] {
	case 1:
		phoff = uint64(bo.Uint32(hdr[0x1c:]))
		entsize, num = uint64(bo.Uint16(hdr[0x2a:])), uint64(bo.Uint16(hdr[0x2c:]))
		offAt, sizeAt, word = 4, 16, 4
	case 2:
		phoff = bo.Uint64(hdr[0x20:])
		entsize, num = uint64(bo.Uint16(hdr[0x36:])), uint64(bo.Uint16(hdr[0x38:]))
		offAt, sizeAt, word = 8, 32, 8
	default:
		return "", errELF
	}
	if entsize < uint64(sizeAt+word) || num > elfMax/entsize || phoff > elfMax {
		return "", errELF
	}
	ph := make([]byte, entsize)
	readWord := func(b []byte) uint64 {
		if word == 4 {
			return uint64(bo.Uint32(b))
		}
		return bo.Uint64(b)
	}
	for i := range num {
		if _, err := r.ReadAt(ph, int64(phoff+i*entsize)); err != nil {
			return "", errELF
		}
		if bo.Uint32(ph) != 3 { // PT_INTERP
			continue
		}
		off, size := readWord(ph[offAt:]), readWord(ph[sizeAt:])
		if size == 0 || size > 4096 || off > elfMax {
			return "", errELF
		}
		buf := make([]byte, size)
		if _, err := r.ReadAt(buf, int64(off)); err != nil {
			return "", errELF
		}
		return string(bytes.TrimRight(buf, "\x00")), nil
	}
	return "", nil
}

// diagnoseUtil is `diagnose CMD|PATH`: it prints why a command cannot
// start (symlink chain, #! and ELF interpreters) and exits 1 when
// something is missing.
func diagnoseUtil(c *call, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	for _, a := range args {
		var path string
		if strings.Contains(a, "/") {
			path = c.path(a)
		} else {
			p, err := lookPath(c, a)
			if err != nil {
				if IsUtility(a) {
					fmt.Fprintf(c.stdout, "%s: not in PATH; quilt-sh has a built-in %s\n", a, a)
					continue
				}
				c.warnf("%s: not found in PATH", a)
				continue
			}
			path = p
		}
		d := diagnose(path)
		fmt.Fprintln(c.stdout, d)
		if d.reason != "" {
			c.failed = true
		}
	}
	return nil
}
