package nixfix

import (
	"errors"
	"fmt"
	"path"
	"slices"

	"golang.org/x/sys/unix"
)

// substitution is the R-4 analysis of one missing store path.
type substitution struct {
	missing    StorePath
	subs       map[string]bool // sub-paths referenced through it ("" for itself)
	candidates []string        // same-name store paths, byte order
	hints      []string        // same pname, other version: never used
	target     string          // the one usable candidate, if exactly one
	reason     Reason
	done       bool // an alias was created
}

// planSubstitutes analyses every missing store path that a finding
// references.
func (s *scan) planSubstitutes() []*substitution {
	for _, f := range s.order {
		if f.Missing == "" {
			continue
		}
		sb := s.subst[f.Missing]
		if sb == nil {
			sp, _, err := ParseStorePath(f.Missing)
			if err != nil {
				continue
			}
			sb = &substitution{missing: sp, subs: map[string]bool{}}
			s.subst[f.Missing] = sb
		}
		sb.subs[f.sub] = true
	}
	var out []*substitution
	for _, k := range slices.Sorted(mapKeys(s.subst)) {
		sb := s.subst[k]
		if !sb.done {
			s.analyse(sb)
		}
		out = append(out, sb)
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// analyse finds the candidates of one missing store path and whether
// exactly one of them is usable.
func (s *scan) analyse(sb *substitution) {
	sb.candidates, sb.hints, sb.target = nil, nil, ""
	if !s.store.safe {
		sb.reason = ReasonStoreAbsent
		return
	}
	m := sb.missing
	for _, c := range s.store.byName[m.Name] {
		if c.Hash != m.Hash {
			sb.candidates = append(sb.candidates, c.Path())
		}
	}
	for _, c := range s.store.byPName[m.PName()] {
		if c.Name != m.Name {
			sb.hints = append(sb.hints, c.Path())
		}
	}
	type inode struct{ dev, ino uint64 }
	usable := map[inode][]string{}
	var failed []Reason
	for _, c := range sb.candidates {
		st, why := s.usable(c, m.Path(), sb.subs)
		if why != "" {
			failed = append(failed, why)
			continue
		}
		k := inode{st.Dev, st.Ino}
		usable[k] = append(usable[k], c)
	}
	switch {
	case len(usable) == 1:
		for _, cs := range usable {
			sb.target = s.preferReal(cs)
		}
		sb.reason = reasonSubstituteAllowed
		if s.o.Policy.Substitute == SubstituteNone {
			sb.reason = ReasonPolicyDisabled
		}
	case len(usable) > 1:
		sb.reason = ReasonAmbiguous
	case len(sb.candidates) == 0:
		sb.reason = ReasonNoCandidate
	case slices.Contains(failed, ReasonSubpathMissing):
		sb.reason = ReasonSubpathMissing
	default:
		sb.reason = ReasonCandUnresolvable
	}
}

// usable checks candidate c for the missing store path m: c
// resolves in-root, to a directory when sub-paths are referenced; every
// sub-path resolves under c; and no resolution passes through m. Candidates
// that resolve to the same inode (a store path and earlier aliases of it)
// count as one.
func (s *scan) usable(c, m string, subs map[string]bool) (unix.Stat_t, Reason) {
	cr := s.r.resolve(c, resolveOpts{through: m})
	if cr.through || !cr.ok() {
		return cr.st, ReasonCandUnresolvable
	}
	needDir := len(subs) > 1 || !subs[""]
	if needDir && !cr.isDir() {
		return cr.st, ReasonCandUnresolvable
	}
	for _, sub := range slices.Sorted(mapKeys(subs)) {
		if sub == "" {
			continue
		}
		sr := s.r.resolve(path.Join(c, sub), resolveOpts{through: m})
		if sr.through {
			return cr.st, ReasonCandUnresolvable
		}
		if !sr.ok() {
			return cr.st, ReasonSubpathMissing
		}
	}
	return cr.st, ""
}

// preferReal picks, among candidates that are the same object, a real
// store path over an alias (a symlink).
func (s *scan) preferReal(cs []string) string {
	for _, c := range cs {
		if st, err := s.r.lstat(c); err == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return c
		}
	}
	return cs[0]
}

// applySubstitutes creates the store aliases M -> <hc>-<name> (R-4.3); it
// returns how many it created.
func (s *scan) applySubstitutes(plan []*substitution) int {
	n := 0
	for _, sb := range plan {
		if sb.done || sb.target == "" || sb.reason != reasonSubstituteAllowed {
			continue
		}
		m := sb.missing.Path()
		if _, err := s.r.lstat(m); !errors.Is(err, unix.ENOENT) {
			continue // it exists now (or cannot be checked): never replace
		}
		var claims []*Finding
		for _, f := range s.order {
			if slices.Contains(f.deps, m) {
				claims = append(claims, f)
			}
		}
		if !s.symlink(m, path.Base(sb.target), ActionSubstitute, claims...) {
			continue
		}
		sb.done = true
		n++
		s.warn(fmt.Sprintf("%s now resolves to a different build of %s (%s)", m, sb.missing.Name, sb.target))
	}
	return n
}
