package libquilt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/quilt-runtime/quilt/nixfix"
)

// Names of the nixfix files in a container's state directory.
const (
	// stateShell is the container's private copy of quilt-sh, the source
	// of the /.quilt/bin/sh bind mount (SEC-8).
	stateShell = "quilt-sh"
	// stateReport is the full nixfix report.
	stateReport = "nixfix.json"
)

// NixfixFlags override a container's nixfix annotations quilt.nixfix,
// quilt.shell and quilt.nixfix.policy. Empty fields keep them.
type NixfixFlags struct {
	// Mode is off, check or repair.
	Mode nixfix.Mode
	// Shell is never, auto or always.
	Shell nixfix.ShellMode
	// Policy is a comma list applied after the annotation's.
	Policy string
}

// annotations returns the flags in annotation form.
func (f NixfixFlags) annotations() map[string]string {
	a := map[string]string{}
	if f.Mode != "" {
		a[nixfix.AnnotationMode] = string(f.Mode)
	}
	if f.Shell != "" {
		a[nixfix.AnnotationShell] = string(f.Shell)
	}
	if f.Policy != "" {
		a[nixfix.AnnotationPolicy] = f.Policy
	}
	return a
}

// nixStep is the outcome of the built-in nixfix step of create.
type nixStep struct {
	rootfs string
	report *nixfix.Report
	// shell is the installed quilt-sh to copy into the state directory
	// when the rootfs holds the /.quilt/bin/sh mount point; "" otherwise.
	shell string
}

// fixRootfs runs nixfix on the container's rootfs before any container
// namespace exists, with the spec's process and annotations and
// the flags on top. A rootfs that is not Nix-like costs a few directory
// reads. It fails only when strict mode leaves the repair partial (exit
// code 2, R-9.2), after undoing what the repair changed; every other
// problem is logged, and the container is created as it is.
func (r *Runtime) fixRootfs(id string, s *specs.Spec, bundle string, flags NixfixFlags) (*nixStep, error) {
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	step := &nixStep{rootfs: rootfs}
	log := logrus.WithFields(logrus.Fields{"id": id, "path": rootfs})
	o, err := nixfix.SpecOptions(s)
	if err == nil {
		err = o.ApplyAnnotations(flags.annotations())
	}
	if err != nil {
		log.Warnf("nixfix skipped: %v", err)
		return step, nil
	}
	if o.Mode == nixfix.ModeOff && o.Shell == nixfix.ShellNever {
		return step, nil
	}
	rep, err := nixfix.Run(rootfs, o)
	step.report = rep
	if err != nil {
		log.Warnf("nixfix: %v", err)
		return step, nil
	}
	if rep.ExitCode == nixfix.ExitStrict {
		// One error line, as for every failed create; the command it
		// names prints the findings.
		err := fmt.Errorf("rootfs %s: %w: policy strict and %d unresolved finding(s); run 'quilt nixfix --check --bundle %s' for details",
			rootfs, ErrNixfix, rep.Unresolved(), bundle)
		if len(rep.Actions) > 0 {
			if _, uerr := nixfix.Undo(rootfs, rep.Actions); uerr != nil {
				err = fmt.Errorf("%w (undo of the repair: %v)", err, uerr)
			}
		}
		return nil, err
	}
	logReport(log, rep)
	if o.Shell == nixfix.ShellNever {
		return step, nil
	}
	switch err := nixfix.MountPoint(rootfs); {
	case errors.Is(err, nixfix.ErrNotProvisioned):
	case err != nil:
		log.Warnf("quilt-sh not mounted: %v", err)
	default:
		sh, err := r.shellBinary()
		if err != nil {
			log.Warnf("quilt-sh not mounted, %s stays an empty mount point: %v", "/.quilt/bin/sh", err)
			break
		}
		step.shell = sh
	}
	return step, nil
}

// logReport logs the stderr form of a report: as warnings when
// something was changed or is still wrong, else at debug level.
func logReport(log *logrus.Entry, rep *nixfix.Report) {
	if !rep.NixLike && len(rep.Actions) == 0 && len(rep.Errors) == 0 {
		return
	}
	var b bytes.Buffer
	_ = rep.WriteText(&b)
	level := logrus.DebugLevel
	if len(rep.Actions) > 0 || rep.Unresolved() > 0 || len(rep.Errors) > 0 {
		level = logrus.WarnLevel
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		log.Log(level, line)
	}
}

// withShellMount returns the spec with the quilt-sh bind mount appended
// . The caller's spec, and config.json, are left as they are.
func (st *nixStep) withShellMount(s *specs.Spec, stateDir string) *specs.Spec {
	if st == nil || st.shell == "" {
		return s
	}
	cp := *s
	cp.Mounts = append(append([]specs.Mount(nil), s.Mounts...), specs.Mount{
		Destination: "/.quilt/bin/sh",
		Type:        "bind",
		Source:      filepath.Join(stateDir, stateShell),
		Options:     []string{"bind", "ro", "nosuid", "nodev"},
	})
	return &cp
}

// finish runs once the state directory exists: it saves the report and
// makes the private, hash-checked copy of quilt-sh that the mount of
// withShellMount names, checking the mount point again (SEC-6, SEC-8).
func (st *nixStep) finish(stateDir string) error {
	if st == nil {
		return nil
	}
	if st.report != nil {
		// The state directory is new and not yet visible to other
		// commands, so a plain write is enough.
		data, err := st.report.JSON()
		if err == nil {
			err = os.WriteFile(filepath.Join(stateDir, stateReport), data, 0o600)
		}
		if err != nil {
			return fmt.Errorf("nixfix report: %w", err)
		}
	}
	if st.shell == "" {
		return nil
	}
	sh, err := nixfix.InstallShell(st.shell, filepath.Join(stateDir, stateShell))
	if err != nil {
		return err
	}
	m, err := nixfix.ShellMount(st.rootfs, sh)
	if err != nil {
		return fmt.Errorf("quilt-sh mount: %w", err)
	}
	if want := filepath.Join(stateDir, stateShell); m.Source != want {
		return fmt.Errorf("quilt-sh mount: source %s, want %s", m.Source, want)
	}
	return nil
}
