package nixfix

import (
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// maxRounds bounds the analyse-and-alias rounds: an alias can make files
// reachable whose own interpreters are missing.
const maxRounds = 5

// Run checks the root filesystem at the host path rootfs and, in repair
// mode, repairs it (SPEC.md 5). It always returns a report; Report.ExitCode
// is the exit code of `quilt nixfix`. The error is non-nil only when nixfix
// could not run at all (options, rootfs), and then wraps ErrConfig or
// ErrRootfs; the report then has result "error".
func Run(rootfs string, o Options) (*Report, error) {
	start := time.Now()
	rep := &Report{Schema: Schema, Rootfs: rootfs, Findings: []*Finding{}, Actions: []*Action{},
		Warnings: []string{}, Errors: []ReportError{}}
	o, err := o.normalize()
	rep.Mode, rep.Policy = o.Mode, ReportPolicy{Policy: o.Policy, Shell: o.Shell}
	if err != nil {
		return rep.fail(CodeConfig, "", err, start)
	}
	if o.Mode == ModeOff {
		rep.Result = ResultSkipped
		rep.DurationMs = time.Since(start).Milliseconds()
		return rep, nil
	}
	r, err := openRoot(rootfs)
	if err != nil {
		return rep.fail(CodeRootfs, rootfs, err, start)
	}
	defer r.close()
	if o.Mode == ModeRepair {
		if err := r.lock(); err != nil {
			return rep.fail(CodeRootfs, rootfs, fmt.Errorf("%w: %w", ErrRootfs, err), start)
		}
	}
	s := newScan(r, o, rep, start)
	s.run()
	s.finish(start)
	if o.Mode == ModeRepair && len(rep.Actions) > 0 {
		s.writeInRootReport()
	}
	return rep, nil
}

func (rep *Report) fail(code, p string, err error, start time.Time) (*Report, error) {
	rep.Result, rep.ExitCode = ResultError, ExitError
	rep.Errors = append(rep.Errors, ReportError{Code: code, Path: p, Message: err.Error()})
	rep.DurationMs = time.Since(start).Milliseconds()
	return rep, err
}

// run is the whole check or repair, in the order of SPEC.md 5.
func (s *scan) run() {
	repair := s.o.Mode == ModeRepair
	s.loadStore()
	// Detection looks at a handful of directories only, so that a
	// rootfs that is not Nix-like costs next to nothing; the full walk
	// runs only on Nix-like ones.
	s.rep.NixLike = s.storeHasPaths() || s.nixLinks() || s.entrypointNix()
	if !s.rep.NixLike {
		// no change, except that ShellAlways still provisions.
		if repair && s.o.Shell == ShellAlways {
			s.provisionShell()
		}
		return
	}
	s.walk()
	s.storeFindings()
	s.analyseLinks()
	s.analyseExecs()
	s.shellFindings()
	for round := 1; ; round++ {
		plan := s.planSubstitutes()
		if !repair || round == maxRounds || s.applySubstitutes(plan) == 0 {
			break
		}
		// Aliases make new files reachable: look at them too, so that a
		// second run finds nothing new.
		s.loadStore()
		s.analyseExecs()
	}
	if !repair {
		return
	}
	s.provisionShell()
	if s.o.Policy.ShimShells {
		s.shimShells()
	}
	if s.o.Policy.FHSLoader {
		s.fhsLoader()
	}
}

// finish settles every finding's resolution and reason, links findings and
// actions, and computes the result and exit code.
func (s *scan) finish(start time.Time) {
	rep := s.rep
	repair := s.o.Mode == ModeRepair
	fixedBy := map[*Finding][]string{}
	for _, a := range s.actions {
		for _, f := range a.claims {
			fixedBy[f] = append(fixedBy[f], a.ID)
		}
	}
	for i, f := range s.order {
		f.ID = fmt.Sprintf("F%d", i+1)
		if len(f.deps) > 0 && f.Reason == "" {
			if sb := s.subst[f.deps[0]]; sb != nil {
				f.Reason = sb.reason
				if f.Missing != "" {
					f.Candidates, f.Hints = sb.candidates, sb.hints
				}
			}
		}
		switch {
		case f.supersede != "":
			f.Resolution, f.FixedBy = Superseded, []string{f.supersede}
		case repair && f.recheck != nil && f.recheck():
			f.Resolution, f.Reason, f.FixedBy = Repaired, "", fixedBy[f]
		default:
			f.Resolution = Unresolved
		}
	}
	for _, a := range s.actions {
		a.Fixes = []string{}
		for _, f := range a.claims {
			if f.Resolution != Unresolved && !slices.Contains(a.Fixes, f.ID) {
				a.Fixes = append(a.Fixes, f.ID)
			}
		}
	}
	rep.Findings, rep.Actions = s.order, s.actions
	if rep.Findings == nil {
		rep.Findings = []*Finding{}
	}
	if rep.Actions == nil {
		rep.Actions = []*Action{}
	}
	rep.Store = StoreSummary{Present: s.store.present, Safe: s.store.safe, StorePaths: len(s.store.paths)}
	rep.Summary.Actions = len(rep.Actions)
	rep.Summary.Findings = Counts{}
	for _, f := range rep.Findings {
		switch f.Severity {
		case SeverityError:
			rep.Summary.Findings.Error++
		case SeverityWarning:
			rep.Summary.Findings.Warning++
		default:
			rep.Summary.Findings.Info++
		}
	}
	s.settle()
	rep.DurationMs = time.Since(start).Milliseconds()
}

// settle computes the result and the exit code from the findings and
// errors.
func (s *scan) settle() {
	rep := s.rep
	switch {
	case !rep.NixLike:
		rep.Result = ResultSkipped
	case rep.Unresolved() > 0 || len(rep.Errors) > 0:
		rep.Result = ResultPartial
	default:
		rep.Result = ResultOK
	}
	rep.ExitCode = ExitOK
	switch {
	case s.o.Mode == ModeCheck && rep.Summary.Findings.Error+rep.Summary.Findings.Warning > 0:
		rep.ExitCode = ExitFindings
	case s.o.Mode == ModeRepair && rep.Result == ResultPartial && s.o.Policy.Strict:
		rep.Result, rep.ExitCode = ResultError, ExitStrict
	}
}

// writeInRootReport writes /.quilt/nixfix.json when /.quilt is a
// real directory after the run. nixfix does not create /.quilt only for the
// report: a run whose only actions are store aliases leaves no /.quilt, as
// the expected trees of the fixtures require; the caller keeps the full
// report in the state directory.
func (s *scan) writeInRootReport() {
	st, err := s.r.lstat(quiltDir)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return
	}
	data, err := s.rep.JSON()
	if err == nil {
		err = s.withParent(inRootReport, func(dfd int, name string) error {
			tmp := tempName(name)
			fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
			if err != nil {
				return err
			}
			f := os.NewFile(uintptr(fd), tmp)
			_, werr := f.Write(data)
			if werr == nil {
				werr = f.Chmod(0o644)
			}
			if werr == nil {
				werr = f.Sync()
			}
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr == nil {
				werr = unix.Renameat(dfd, tmp, dfd, name)
			}
			if werr != nil {
				unix.Unlinkat(dfd, tmp, 0)
			}
			return werr
		})
	}
	if err != nil {
		s.writeError(inRootReport, fmt.Errorf("write report %s: %w", inRootReport, err))
		s.settle()
	}
}
