package nixfix

import (
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// execState is one analysed executable in the current round.
type execState struct {
	via      []string
	entry    bool
	findings []*Finding
}

// header is what the kernel looks at before it runs a file.
type header struct {
	elf     *ELFInfo
	shebang *Shebang
}

// readHeader opens a resolved regular file with O_NOFOLLOW|O_NONBLOCK
// relative to its parent, checks it is still the resolved inode, and reads
// its ELF headers or its first ShebangMax bytes (SEC-3).
func (s *scan) readHeader(res resolved) (header, error) {
	defer unix.Close(res.parentFd)
	fd, err := unix.Openat(res.parentFd, res.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return header{}, err
	}
	f := os.NewFile(uintptr(fd), res.path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return header{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != res.st.Ino || st.Dev != res.st.Dev {
		return header{}, fmt.Errorf("%s: %w", res.path, ErrExists)
	}
	head := make([]byte, ShebangMax)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return header{}, err
	}
	head = head[:n]
	if IsELF(head) {
		info, err := ReadELF(f, st.Size)
		if err != nil {
			return header{}, err
		}
		return header{elf: &info}, nil
	}
	if sb, ok := ParseShebang(head); ok {
		return header{shebang: &sb}, nil
	}
	return header{}, nil
}

// inspect resolves p and reads its header when it is a regular file.
func (s *scan) inspect(p string) (resolved, header, bool) {
	res := s.r.resolve(p, resolveOpts{keep: true})
	if !res.isReg() || res.path == shellPlaceholder {
		res.release()
		return res, header{}, false
	}
	h, err := s.readHeader(res)
	return res, h, err == nil
}

// runnable reports whether the resolution is a file the kernel can start:
// an executable regular file whose ELF or "#!" interpreter resolves, or the
// shell mount point /.quilt/bin/sh.
func (s *scan) runnable(p string) bool {
	res, h, ok := s.inspect(p)
	if res.ok() && res.path == shellPlaceholder {
		return true
	}
	if !ok || res.st.Mode&0o111 == 0 {
		return false
	}
	switch {
	case h.elf != nil && h.elf.Interp != "":
		return s.r.resolve(h.elf.Interp, resolveOpts{}).isReg()
	case h.shebang != nil:
		return s.interpRunnable(s.interpPath(h.shebang.Interpreter))
	}
	return true
}

// interpRunnable: the "#!" interpreter resolves to an executable file.
func (s *scan) interpRunnable(p string) bool {
	res := s.r.resolve(p, resolveOpts{})
	return res.isReg() && (res.st.Mode&0o111 != 0 || res.path == shellPlaceholder)
}

func (s *scan) interpPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return path.Join(s.o.Cwd, p)
}

// entrypoint is process.args[0] as the kernel would find it: absolute,
// relative to process.cwd, or looked up in PATH in-root.
func (s *scan) entrypoint() string {
	if len(s.o.Args) == 0 || s.o.Args[0] == "" {
		return ""
	}
	a := s.o.Args[0]
	switch {
	case strings.HasPrefix(a, "/"):
		return a
	case strings.Contains(a, "/"):
		return path.Join(s.o.Cwd, a)
	}
	for _, d := range s.o.pathDirs() {
		if p := path.Join(d, a); s.r.resolve(p, resolveOpts{}).isReg() {
			return p
		}
	}
	return ""
}

// entrypointNix is R-1 (c): the entrypoint's ELF or "#!" interpreter lies
// in /nix/store.
func (s *scan) entrypointNix() bool {
	p := s.entrypoint()
	if p == "" {
		return false
	}
	_, h, ok := s.inspect(p)
	switch {
	case !ok:
		return false
	case h.elf != nil:
		return strings.HasPrefix(h.elf.Interp, StoreDir+"/")
	case h.shebang != nil:
		return strings.HasPrefix(h.shebang.Interpreter, StoreDir+"/")
	}
	return false
}

// analyseExecs checks the executables of: the entrypoint chain,
// every entry of every PATH directory, /sbin/init and /init.
func (s *scan) analyseExecs() {
	s.execs = map[string]*execState{}
	if p := s.entrypoint(); p != "" {
		s.checkExec(p, p, true, 0)
	}
	for _, d := range s.o.pathDirs() {
		for _, e := range s.listDir(d) {
			if s.overBudget("maxExecChecks", len(s.execCount) >= s.o.Budgets.MaxExecChecks) {
				return
			}
			p := path.Join(d, e)
			s.checkExec(p, p, false, 0)
		}
	}
	for _, p := range []string{"/sbin/init", "/init"} {
		s.checkExec(p, p, false, 0)
	}
}

// listDir lists the in-root directory d (following links in-root).
func (s *scan) listDir(d string) []string {
	res := s.r.resolve(d, resolveOpts{keep: true})
	if !res.isDir() {
		res.release()
		return nil
	}
	fd, err := openKept(s.r, res)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	names, _ := readDirNames(fd)
	return names
}

// checkExec analyses the file p, reached through the name via.
func (s *scan) checkExec(p, via string, entry bool, depth int) {
	res, h, ok := s.inspect(p)
	if !ok || s.overBudget("", false) {
		return
	}
	canon := res.path
	if st, seen := s.execs[canon]; seen {
		if !slices.Contains(st.via, via) {
			st.via = append(st.via, via)
		}
		for _, f := range st.findings {
			if !slices.Contains(f.Via, via) {
				f.Via = append(f.Via, via)
			}
			if entry && !st.entry {
				s.markEntry(f)
			}
		}
		st.entry = st.entry || entry
		return
	}
	st := &execState{via: []string{via}, entry: entry}
	s.execs[canon] = st
	if !s.execCount[canon] {
		s.execCount[canon] = true
		s.rep.Summary.ExecChecked++
	}
	add := func(f *Finding) {
		f.Path, f.Via, f.entry = canon, []string{via}, entry
		f.key = fmt.Sprintf("%s:%s:%s%s%s", f.Kind, canon, f.Interpreter, f.Entry, f.Library)
		if entry {
			s.markEntry(f)
		}
		f = s.add(f)
		if !slices.Contains(f.Via, via) {
			f.Via = append(f.Via, via)
		}
		st.findings = append(st.findings, f)
	}
	switch {
	case h.elf != nil:
		s.checkELF(canon, *h.elf, add)
	case h.shebang != nil:
		ip := s.interpPath(h.shebang.Interpreter)
		if !s.interpRunnable(ip) {
			f := &Finding{Kind: KindMissingScriptInterp, Severity: SeverityWarning, Interpreter: h.shebang.Interpreter}
			s.fillMissing(f, s.r.resolve(ip, resolveOpts{}))
			f.recheck = func() bool { return s.interpRunnable(ip) }
			add(f)
		} else if depth+1 < s.o.Budgets.MaxInterpDepth {
			s.checkExec(ip, via, entry, depth+1)
		}
	}
}

func (s *scan) markEntry(f *Finding) {
	if f.Kind == KindMissingELFInterp || f.Kind == KindMissingScriptInterp {
		f.Severity = SeverityError
	}
	f.entry = true
}

// fillMissing sets the store fields of an executable finding from the
// failed resolution of its interpreter or RUNPATH entry.
func (s *scan) fillMissing(f *Finding, res resolved) {
	f.Status = res.status.String()
	f.Chain = res.chain
	if res.ok() {
		f.Reason = ReasonMissing // resolves, but to the wrong kind of file
		return
	}
	sp, sub, miss, inStore := s.storeMiss(res, false)
	switch {
	case miss:
		f.Missing, f.sub, f.deps = sp.Path(), sub, []string{sp.Path()}
	case res.status == statusLoop:
		f.Reason = ReasonLoop
	case inStore:
		f.Reason = ReasonMissing
	default:
		f.Reason = ReasonNotStore
	}
}

// checkELF checks PT_INTERP, the RUNPATH entries under /nix/store and, for
// binaries with such entries, that every DT_NEEDED library is found.
func (s *scan) checkELF(canon string, info ELFInfo, add func(*Finding)) {
	if info.Interp != "" {
		ir := s.r.resolve(info.Interp, resolveOpts{})
		if !ir.isReg() {
			f := &Finding{Kind: KindMissingELFInterp, Severity: SeverityWarning, Interpreter: info.Interp}
			s.fillMissing(f, ir)
			interp := info.Interp
			f.recheck = func() bool { return s.r.resolve(interp, resolveOpts{}).isReg() }
			add(f)
		}
	}
	var entries, deps []string
	storeRunpath := false
	for _, e := range info.RunPath {
		e = expandOrigin(e, path.Dir(canon))
		if !strings.HasPrefix(e, "/") {
			continue
		}
		entries = append(entries, e)
		if !strings.HasPrefix(cleanIn(e), StoreDir+"/") {
			continue
		}
		storeRunpath = true
		er := s.r.resolve(e, resolveOpts{})
		if er.isDir() {
			continue
		}
		f := &Finding{Kind: KindMissingRunpathEntry, Severity: SeverityWarning, Entry: e}
		s.fillMissing(f, er)
		deps = append(deps, f.deps...)
		entry := e
		f.recheck = func() bool { return s.r.resolve(entry, resolveOpts{}).isDir() }
		add(f)
	}
	if !storeRunpath {
		return
	}
	for _, lib := range info.Needed {
		if strings.Contains(lib, "/") || s.findLib(lib, entries, info.Interp) {
			continue
		}
		f := &Finding{Kind: KindMissingNeededLib, Severity: SeverityWarning, Library: lib,
			deps: slices.Compact(slices.Sorted(slices.Values(deps)))}
		if len(f.deps) == 0 {
			f.Reason = ReasonMissing
		}
		lib, interp := lib, info.Interp
		f.recheck = func() bool { return s.findLib(lib, entries, interp) }
		add(f)
	}
}

// findLib looks for a DT_NEEDED library in the RUNPATH directories and in
// the directory of the ELF interpreter (a Nix glibc loader searches its
// own lib directory).
func (s *scan) findLib(lib string, entries []string, interp string) bool {
	dirs := slices.Clone(entries)
	if interp != "" {
		if ir := s.r.resolve(interp, resolveOpts{}); ir.isReg() {
			dirs = append(dirs, path.Dir(ir.path))
		}
	}
	for _, d := range dirs {
		if s.r.resolve(path.Join(d, lib), resolveOpts{}).isReg() {
			return true
		}
	}
	return false
}

// expandOrigin replaces $ORIGIN and ${ORIGIN} with the file's directory.
func expandOrigin(e, dir string) string {
	e = strings.ReplaceAll(e, "${ORIGIN}", dir)
	return strings.ReplaceAll(e, "$ORIGIN", dir)
}
