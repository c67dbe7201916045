package nixfix

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// maxWalkDepth bounds directory nesting in the walk (one fd per level).
const maxWalkDepth = 256

// scan is the state of one run over one rootfs.
type scan struct {
	r        *rootDir
	o        Options
	rep      *Report
	deadline time.Time

	store storeInfo
	links []string // every symlink found by the walk

	order     []*Finding
	byKey     map[string]*Finding
	execs     map[string]*execState // files analysed in this round, by canonical path
	execCount map[string]bool       // files analysed in any round
	truncated map[string]bool
	subst     map[string]*substitution // by missing store path
	actions   []*Action
	baseDone  *bool // outcome, once tried
}

// storeInfo describes /nix/store.
type storeInfo struct {
	present bool
	safe    bool // /nix and /nix/store are real directories
	paths   []StorePath
	byName  map[string][]StorePath
	byPName map[string][]StorePath
}

func newScan(r *rootDir, o Options, rep *Report, start time.Time) *scan {
	return &scan{
		r: r, o: o, rep: rep, deadline: start.Add(o.Budgets.Time),
		byKey: map[string]*Finding{}, execCount: map[string]bool{},
		truncated: map[string]bool{}, subst: map[string]*substitution{},
	}
}

// loadStore lists /nix/store when /nix and /nix/store are real
// directories. A store reached through a symlink may be present in-root,
// but it is not safe.
func (s *scan) loadStore() {
	s.store = storeInfo{byName: map[string][]StorePath{}, byPName: map[string][]StorePath{}}
	s.store.present = s.r.resolve(StoreDir, resolveOpts{}).isDir()
	fd, err := s.r.openDir(StoreDir)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	s.store.safe = true
	names, err := readDirNames(fd)
	if err != nil {
		s.warn(fmt.Sprintf("%s: cannot list: %v", StoreDir, err))
	}
	for _, n := range names {
		sp, err := ParseStoreName(n)
		if err != nil {
			continue
		}
		s.store.paths = append(s.store.paths, sp)
		s.store.byName[sp.Name] = append(s.store.byName[sp.Name], sp)
		s.store.byPName[sp.PName()] = append(s.store.byPName[sp.PName()], sp)
	}
}

// storeFindings reports a store that is missing or unsafe on a Nix-like
// rootfs: store-absent, and unsafe-path for the first of /nix and
// /nix/store that is a symlink or not a directory.
func (s *scan) storeFindings() {
	if s.store.safe {
		return
	}
	for _, p := range []string{"/nix", StoreDir} {
		st, err := s.r.lstat(p)
		if errors.Is(err, unix.ENOENT) {
			s.add(&Finding{Kind: KindStoreAbsent, Severity: SeverityWarning, Path: StoreDir,
				Reason: ReasonMissing, key: "store-absent"})
			s.warn("no " + StoreDir + ": image built with includeStorePaths = false? provide a store mount")
			return
		}
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		s.add(&Finding{Kind: KindStoreAbsent, Severity: SeverityWarning, Path: StoreDir,
			Reason: ReasonUnsafe, key: "store-absent"})
		s.unsafePath(p, st, false)
		return
	}
}

// storeHasPaths is R-1 (a): in-root /nix/store is a directory holding at
// least one valid store path name.
func (s *scan) storeHasPaths() bool {
	if s.store.safe {
		return len(s.store.paths) > 0
	}
	res := s.r.resolve(StoreDir, resolveOpts{keep: true})
	if !res.isDir() {
		res.release()
		return false
	}
	fd, err := openKept(s.r, res)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	names, _ := readDirNames(fd)
	for _, n := range names {
		if IsStoreName(n) {
			return true
		}
	}
	return false
}

// openKept opens the directory of a resolution made with keep, checking
// that it is still the object that was resolved.
func openKept(r *rootDir, res resolved) (int, error) {
	if res.parentFd < 0 {
		return unix.Dup(r.fd)
	}
	defer unix.Close(res.parentFd)
	fd, err := unix.Openat(res.parentFd, res.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Ino != res.st.Ino || st.Dev != res.st.Dev {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", res.path, ErrExists)
	}
	return fd, nil
}

// overBudget reports whether the time budget is spent, noting it once.
func (s *scan) overBudget(name string, exceeded bool) bool {
	if !exceeded && time.Now().After(s.deadline) {
		name, exceeded = "timeBudget", true
	}
	if exceeded && !s.truncated[name] {
		s.truncated[name] = true
		s.add(&Finding{Kind: KindScanTruncated, Severity: SeverityWarning, Path: "/", Budget: name,
			key: "trunc:" + name})
	}
	return exceeded
}

// detectDirs are the directories whose symlinks into /nix/store make a
// rootfs Nix-like (R-1 b).
var detectDirs = []string{"/", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc"}

// nixLinks is R-1 (b): a symlink among the entries of detectDirs points
// into /nix/store. Like the walk, it lists real directories only (a
// directory link such as /bin -> /nix/store/... is an entry of /) and reads
// link targets with readlinkat. A busybox-style rootfs that is not Nix-like
// has a few hundred applet links there, one readlinkat each, which is most
// of what a check of such a rootfs costs; the directories are read
// concurrently, and all stop once one of them has a link into the store.
func (s *scan) nixLinks() bool {
	var found atomic.Bool
	var wg sync.WaitGroup
	for _, d := range detectDirs {
		wg.Go(func() {
			if s.dirHasNixLink(d, &found) {
				found.Store(true)
			}
		})
	}
	wg.Wait()
	return found.Load()
}

// dirHasNixLink reports whether the in-root directory d holds a symlink
// into the store; it gives up early once found is set.
func (s *scan) dirHasNixLink(d string, found *atomic.Bool) bool {
	dfd, err := s.r.openDir(d)
	if err != nil {
		return false
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	if unix.Fstat(dfd, &st) != nil || st.Dev != s.r.dev {
		return false
	}
	// getdents gives each entry's type, so only symlinks cost a syscall.
	fd, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), d)
	defer f.Close()
	entries, _ := f.ReadDir(-1)
	for _, e := range entries {
		if found.Load() {
			return false
		}
		if e.Type()&fs.ModeSymlink != 0 && linksIntoStore(dfd, e.Name()) {
			return true
		}
	}
	return false
}

// linksIntoStore reports whether the symlink name in dirfd has a target
// that starts with StoreDir+"/". It reads no more of the target than that.
func linksIntoStore(dirfd int, name string) bool {
	const prefix = StoreDir + "/"
	var buf [len(prefix)]byte
	n, err := unix.Readlinkat(dirfd, name, buf[:])
	return err == nil && n == len(buf) && string(buf[:]) == prefix
}

// walk lists every directory entry of the rootfs with getdents and
// fstatat(AT_SYMLINK_NOFOLLOW) only, without following directory links,
// entering /proc, /sys, /dev or other mounts, or looking at /.quilt.
func (s *scan) walk() {
	fd, err := unix.Dup(s.r.fd)
	if err != nil {
		return
	}
	s.walkDir(fd, "/", 0)
}

func (s *scan) walkDir(dirfd int, dir string, depth int) bool {
	defer unix.Close(dirfd)
	names, err := readDirNames(dirfd)
	if err != nil {
		s.warn(fmt.Sprintf("%s: cannot list: %v", dir, err))
	}
	for _, name := range names {
		s.rep.Summary.Entries++
		if s.overBudget("maxEntries", s.rep.Summary.Entries > s.o.Budgets.MaxEntries) {
			return false
		}
		p := path.Join(dir, name)
		if p == quiltDir {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			s.links = append(s.links, p)
			s.rep.Summary.Symlinks++
		case unix.S_IFDIR:
			if dir == "/" && (name == "proc" || name == "sys" || name == "dev") || st.Dev != s.r.dev {
				continue
			}
			if s.overBudget("maxDepth", depth+1 >= maxWalkDepth) {
				continue
			}
			cfd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			var cst unix.Stat_t
			if unix.Fstat(cfd, &cst) != nil || cst.Ino != st.Ino || cst.Dev != s.r.dev {
				unix.Close(cfd)
				continue
			}
			if !s.walkDir(cfd, p, depth+1) {
				return false
			}
		}
	}
	return true
}

// add records a finding, or returns the one with the same key.
func (s *scan) add(f *Finding) *Finding {
	if old, ok := s.byKey[f.key]; ok {
		return old
	}
	if f.Resolution == "" {
		f.Resolution = Unresolved
	}
	s.byKey[f.key] = f
	s.order = append(s.order, f)
	return f
}

func (s *scan) warn(msg string) { s.rep.Warnings = append(s.rep.Warnings, msg) }

// storeMiss finds the missing store path a failed resolution ran into:
// the first missing component is a store path, /nix/store or /nix, and
// where it was heading lies in that store path. inStore reports a missing
// sub-path of a store path that exists. When the store is reached through
// a symlink, the lexical hop chain names the store path instead (from its
// first hop on for a link, whose own path is not a target).
func (s *scan) storeMiss(res resolved, link bool) (sp StorePath, sub string, ok, inStore bool) {
	if res.status == statusNoEnt {
		if sp, sub, err := ParseStorePath(res.intended()); err == nil {
			if len(splitIn(res.path)) <= 3 {
				return sp, sub, true, false
			}
			return StorePath{}, "", false, true
		}
	}
	if !s.store.safe {
		chain := res.chain
		if link {
			chain = chain[1:]
		}
		for _, c := range chain {
			if sp, sub, err := ParseStorePath(c); err == nil {
				return sp, sub, true, false
			}
		}
	}
	return StorePath{}, "", false, false
}

// inStorePath reports whether the in-root path p lies inside a store path.
func inStorePath(p string) bool {
	sp, sub, err := ParseStorePath(p)
	return err == nil && sp.Hash != "" && sub != ""
}

// analyseLinks resolves every symlink found by the walk and
// records the ones that do not resolve.
func (s *scan) analyseLinks() {
	for _, p := range s.links {
		if _, done := s.byKey[linkKey(p)]; done {
			continue
		}
		res := s.r.resolve(p, resolveOpts{})
		if res.ok() {
			continue
		}
		target, _ := s.r.readlink(p)
		f := &Finding{Path: p, Target: target, Chain: res.chain, Status: res.status.String(),
			LexicalEscape: res.lexicalEscape, ProcMagic: res.procMagic, key: linkKey(p),
			Severity: SeverityWarning}
		sp, sub, miss, inStore := s.storeMiss(res, true)
		switch {
		case res.status == statusLoop:
			f.Kind, f.Reason = KindSymlinkLoop, ReasonLoop
		case miss:
			f.Kind, f.Missing, f.sub, f.deps = KindDanglingStoreLink, sp.Path(), sub, []string{sp.Path()}
		default:
			f.Kind, f.Reason = KindDanglingLink, ReasonNotStore
			if inStore {
				f.Reason = ReasonMissing
			}
			if inStorePath(p) && !res.lexicalEscape && !res.procMagic {
				f.Severity = SeverityInfo
			}
		}
		f.recheck = func() bool { return s.r.resolve(p, resolveOpts{}).ok() }
		s.add(f)
	}
}

func linkKey(p string) string { return "link:" + p }
