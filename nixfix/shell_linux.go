package nixfix

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// linkSpot is /bin/sh or /usr/bin/env: where a link to quilt-sh goes.
type linkSpot struct {
	dir, name string
	to        string // in-root path the link leads to
	kind      Kind   // the finding that asks for it
}

var (
	binSh     = linkSpot{"/bin", "sh", shellPlaceholder, KindMissingBinSh}
	usrBinEnv = linkSpot{"/usr/bin", "env", shellEnvLink, KindMissingUsrBinEnv}
)

func (l linkSpot) path() string { return l.dir + "/" + l.name }

// binShPresent is R-5.2 (a): /bin/sh resolves to a runnable file or to
// the mount point of an earlier run.
func (s *scan) binShPresent() bool { return s.runnable(binSh.path()) }

// envPresent: /usr/bin/env resolves to something that is not a directory
// (the mount point and /.quilt/bin/env count, R-5.3).
func (s *scan) envPresent() bool {
	res := s.r.resolve(usrBinEnv.path(), resolveOpts{})
	return res.ok() && !res.isDir()
}

// shellFindings records missing-bin-sh and missing-usr-bin-env.
func (s *scan) shellFindings() {
	if !s.binShPresent() {
		s.add(&Finding{Kind: KindMissingBinSh, Severity: SeverityInfo, Path: binSh.path(),
			key: string(KindMissingBinSh), recheck: s.binShPresent})
	}
	if !s.envPresent() {
		s.add(&Finding{Kind: KindMissingUsrBinEnv, Severity: SeverityInfo, Path: usrBinEnv.path(),
			key: string(KindMissingUsrBinEnv), recheck: s.envPresent})
	}
}

// provisionShell is R-5: after the store aliases, provide /bin/sh and
// /usr/bin/env as links to the quilt-sh mount point where they do not
// resolve, or only the mount point with ShellAlways.
func (s *scan) provisionShell() {
	needSh, needEnv := !s.binShPresent(), !s.envPresent()
	if s.o.Shell == ShellNever {
		s.setReason(ReasonPolicyDisabled, KindMissingBinSh, KindMissingUsrBinEnv)
		return
	}
	if !needSh && !needEnv && s.o.Shell != ShellAlways {
		return
	}
	if !s.provisionBase(s.byKey[string(KindMissingBinSh)], s.byKey[string(KindMissingUsrBinEnv)]) {
		s.setReason(ReasonUnsafe, KindMissingBinSh, KindMissingUsrBinEnv)
		return
	}
	if needSh {
		s.provisionLink(binSh)
	}
	if needEnv && !s.envPresent() { // /usr/bin/env -> /bin/sh may work now
		s.provisionLink(usrBinEnv)
	}
}

func (s *scan) setReason(r Reason, kinds ...Kind) {
	for _, k := range kinds {
		if f := s.byKey[string(k)]; f != nil {
			f.Reason = r
		}
	}
}

// provisionBase is: /.quilt, /.quilt/bin, the mount point
// /.quilt/bin/sh (or the shell itself in copy mode) and /.quilt/bin/env ->
// sh, each created only if absent. Anything there that is not what nixfix
// would have made stops all provisioning. The outcome is kept for R-6.
func (s *scan) provisionBase(claims ...*Finding) bool {
	if s.baseDone != nil {
		return *s.baseDone
	}
	var fs []*Finding
	for _, f := range claims {
		if f != nil {
			fs = append(fs, f)
		}
	}
	ok := s.makeBase(fs)
	s.baseDone = &ok
	return ok
}

func (s *scan) makeBase(claims []*Finding) bool {
	for _, d := range []string{quiltDir, quiltBinDir} {
		st, err := s.r.lstat(d)
		switch {
		case errors.Is(err, unix.ENOENT):
			if !s.mkdir(d, ActionShell, claims...) {
				return false
			}
		case err != nil:
			return s.writeError(d, err)
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			s.unsafePath(d, st, true)
			return false
		}
	}
	st, err := s.r.lstat(shellPlaceholder)
	switch {
	case errors.Is(err, unix.ENOENT):
		if !s.installShell(claims) {
			return false
		}
	case err != nil:
		return s.writeError(shellPlaceholder, err)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		s.unsafePath(shellPlaceholder, st, true)
		return false
	}
	if _, err := s.r.lstat(shellEnvLink); errors.Is(err, unix.ENOENT) {
		return s.symlink(shellEnvLink, "sh", ActionShell, claims...)
	}
	return true
}

// installShell creates the mount point, or copies the verified shell.
func (s *scan) installShell(claims []*Finding) bool {
	if s.o.Install == InstallCopy {
		f, err := s.o.ShellBinary.open()
		if err != nil {
			return s.writeError(shellPlaceholder, err)
		}
		defer f.Close()
		if err := s.createFile(shellPlaceholder, f, 0o555); err != nil {
			return s.writeError(shellPlaceholder, fmt.Errorf("copy shell to %s: %w", shellPlaceholder, err))
		}
		s.newAction(&Action{Op: OpCopy, Path: shellPlaceholder, SHA256: s.o.ShellBinary.SHA256, Reason: ActionShell}, claims...)
		return true
	}
	if err := s.createFile(shellPlaceholder, nil, 0); err != nil {
		return s.writeError(shellPlaceholder, fmt.Errorf("create mount point %s: %w", shellPlaceholder, err))
	}
	s.newAction(&Action{Op: OpPlaceholder, Path: shellPlaceholder, Mode: "0000", Reason: ActionShell}, claims...)
	return true
}

// provisionLink is R-5.2 (b) to (h) for one spot: make its directory a
// real directory, then link the spot to quilt-sh if it is absent or a
// dangling symlink. Regular files and working links are never touched.
func (s *scan) provisionLink(l linkSpot) {
	want := s.byKey[string(l.kind)]
	fail := func(r Reason) {
		if want != nil {
			want.Reason = r
		}
	}
	for _, p := range parents(l.dir) {
		st, err := s.r.lstat(p)
		switch {
		case errors.Is(err, unix.ENOENT):
			if !s.mkdir(p, ActionShell, want) {
				fail(ReasonUnsafe)
				return
			}
		case err != nil:
			s.writeError(p, err)
			fail(ReasonUnsafe)
			return
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			s.unsafePath(p, st, true)
			fail(ReasonUnsafe)
			return
		}
	}
	if !s.realDir(l.dir, want) {
		fail(ReasonUnsafe)
		return
	}
	p, rel := l.path(), relPath(l.dir, l.to)
	st, err := s.r.lstat(p)
	switch {
	case errors.Is(err, unix.ENOENT):
		s.symlink(p, rel, ActionShell, want)
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK:
		if s.r.resolve(p, resolveOpts{}).ok() {
			fail(ReasonSymlink) // a working link to something unusable
			return
		}
		prev, _ := s.r.readlink(p)
		old := s.byKey[linkKey(p)]
		if a := s.replaceSymlink(p, rel, prev, ActionShell, want, old); a != nil && old != nil {
			old.supersede = a.ID
		}
	default:
		fail(ReasonUnsafe) // never delete a regular file or directory
	}
}

// realDir makes the in-root directory d a real directory: mkdir when
// absent, expand-dirlink when it is a link to a directory,
// replace-dangling-dirlink when it is a dangling link; anything else is
// unsafe.
func (s *scan) realDir(d string, want *Finding) bool {
	st, err := s.r.lstat(d)
	switch {
	case errors.Is(err, unix.ENOENT):
		return s.mkdir(d, ActionShell, want)
	case err != nil:
		return s.writeError(d, err)
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return true
	case st.Mode&unix.S_IFMT != unix.S_IFLNK:
		s.unsafePath(d, st, true)
		return false
	}
	prev, err := s.r.readlink(d)
	if err != nil {
		return s.writeError(d, err)
	}
	res := s.r.resolve(d, resolveOpts{})
	old := s.byKey[linkKey(d)]
	switch {
	case res.isDir():
		entries := s.listDir(d)
		if entries == nil {
			entries = []string{}
		}
		return s.replaceDirlink(d, relPath(d, res.path), prev, entries, ActionShell, want) != nil
	case res.status == statusNoEnt:
		a := s.replaceDirlink(d, "", prev, nil, ActionShell, want, old)
		if a != nil && old != nil {
			old.supersede = a.ID
		}
		return a != nil
	}
	s.unsafePath(d, st, true)
	return false
}

// parents lists the ancestors of the in-root path p below the root.
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}

// shimShells is R-6 (opt-in): a missing sh, bash, dash or ash script
// interpreter in a missing store path with no usable candidate becomes a
// link to quilt-sh inside a newly created directory for that store path.
func (s *scan) shimShells() {
	for _, f := range s.order {
		if f.Kind != KindMissingScriptInterp || f.Missing == "" || f.recheck() {
			continue
		}
		sb := s.subst[f.Missing]
		if sb == nil || sb.target != "" || !s.store.safe {
			continue
		}
		switch path.Base(f.Interpreter) {
		case "sh", "bash", "dash", "ash":
		default:
			continue
		}
		if _, err := s.r.lstat(f.Missing); !errors.Is(err, unix.ENOENT) {
			continue // exists (an earlier shim): never write inside it
		}
		if !s.provisionBase() {
			return
		}
		sp, sub, err := ParseStorePath(cleanIn(f.Interpreter))
		if err != nil || sp.Path() != f.Missing || sub == "" {
			continue
		}
		claims := s.sameInterp(f.Interpreter)
		ok := true
		for _, d := range append([]string{sp.Path()}, parentsWithin(sp.Path(), sub)...) {
			if ok = s.mkdir(d, ActionShim, claims...); !ok {
				break
			}
		}
		link := path.Join(sp.Path(), sub)
		if ok && s.symlink(link, relPath(path.Dir(link), shellPlaceholder), ActionShim, claims...) {
			s.warn(fmt.Sprintf("%s is a shim: scripts with #!%s now run under quilt-sh, not under %s",
				link, f.Interpreter, path.Base(f.Interpreter)))
		}
	}
}

// parentsWithin lists the directories between root and root/sub's parent.
func parentsWithin(root, sub string) []string {
	var out []string
	parts := strings.Split(sub, "/")
	for i := 1; i < len(parts); i++ {
		out = append(out, path.Join(root, strings.Join(parts[:i], "/")))
	}
	return out
}

func (s *scan) sameInterp(interp string) []*Finding {
	var out []*Finding
	for _, f := range s.order {
		if f.Kind == KindMissingScriptInterp && f.Interpreter == interp {
			out = append(out, f)
		}
	}
	return out
}

// fhsLoaders maps foreign loader paths to their directory.
var fhsLoaders = map[string]string{
	"/lib64/ld-linux-x86-64.so.2": "/lib64",
	"/lib/ld-linux-aarch64.so.1":  "/lib",
}

// fhsLoader is R-7 (opt-in): a missing FHS loader becomes a link to the
// loader of the store's only glibc that has one.
func (s *scan) fhsLoader() {
	for _, f := range s.order {
		dir, ok := fhsLoaders[f.Interpreter]
		if f.Kind != KindMissingELFInterp || !ok || f.recheck() || !s.store.safe {
			continue
		}
		name := path.Base(f.Interpreter)
		var found []string
		for _, sp := range s.store.paths {
			if strings.HasPrefix(sp.Name, "glibc-") && s.r.resolve(path.Join(sp.Path(), "lib", name), resolveOpts{}).isReg() {
				found = append(found, path.Join(sp.Path(), "lib", name))
			}
		}
		if len(found) != 1 {
			continue
		}
		st, err := s.r.lstat(dir)
		switch {
		case errors.Is(err, unix.ENOENT):
			if !s.mkdir(dir, ActionFHSLoader, f) {
				continue
			}
		case err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR:
			s.unsafePath(dir, st, true)
			continue
		}
		if _, err := s.r.lstat(f.Interpreter); !errors.Is(err, unix.ENOENT) {
			continue
		}
		if s.symlink(f.Interpreter, relPath(dir, found[0]), ActionFHSLoader, f) {
			s.warn(fmt.Sprintf("%s -> %s: loader provided, libraries not guaranteed", f.Interpreter, found[0]))
		}
	}
}
