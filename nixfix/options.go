package nixfix

import (
	"fmt"
	"strings"
	"time"
)

// Annotations that control nixfix for one container. The CLI flags
// of the same names override them.
const (
	// AnnotationMode is off, check or repair (default repair).
	AnnotationMode = "quilt.nixfix"
	// AnnotationShell is never, auto or always (default auto).
	AnnotationShell = "quilt.shell"
	// AnnotationPolicy is a comma list: substitute=same-name|none,
	// shimShells, fhsLoader, strict.
	AnnotationPolicy = "quilt.nixfix.policy"
)

// Mode says whether nixfix looks, repairs, or does nothing.
type Mode string

const (
	ModeOff    Mode = "off"
	ModeCheck  Mode = "check"
	ModeRepair Mode = "repair"
)

// ShellMode says when the quilt-sh mount point is provisioned.
type ShellMode string

const (
	// ShellNever never provisions /.quilt/bin/sh.
	ShellNever ShellMode = "never"
	// ShellAuto provisions it when /bin/sh or /usr/bin/env must be
	// provided (the default).
	ShellAuto ShellMode = "auto"
	// ShellAlways provisions /.quilt/bin/sh even when nothing is missing,
	// and even on a rootfs that is not Nix-like.
	ShellAlways ShellMode = "always"
)

// InstallMode says how the shell gets to /.quilt/bin/sh.
type InstallMode string

const (
	// InstallMount creates an empty mode-0000 placeholder that quilt
	// bind-mounts the private quilt-sh copy onto (R-0.2; the default).
	InstallMount InstallMode = "mount"
	// InstallCopy copies Options.ShellBinary into the rootfs, mode 0555,
	// for external createRuntime hooks that cannot mount.
	InstallCopy InstallMode = "copy"
)

// Substitution policies for missing store paths.
const (
	SubstituteSameName = "same-name"
	SubstituteNone     = "none"
)

// Policy holds the repair policy of. The zero value is the default.
type Policy struct {
	// Substitute is SubstituteSameName (the default, also for "") or
	// SubstituteNone.
	Substitute string `json:"substitute"`
	// ShimShells links missing sh/bash/dash/ash script interpreters to
	// quilt-sh, creating fake store paths (R-6, opt-in).
	ShimShells bool `json:"shimShells"`
	// FHSLoader links /lib64/ld-linux-x86-64.so.2 (or the arm64 loader)
	// to the store's only glibc for foreign binaries (R-7, opt-in).
	FHSLoader bool `json:"fhsLoader"`
	// Strict turns a partial result into an error, exit code 2.
	Strict bool `json:"strict"`
}

// ParsePolicy parses the comma list of AnnotationPolicy and --policy.
// A bare name sets a flag, "name=false" clears it.
func ParsePolicy(s string) (Policy, error) {
	var p Policy
	err := p.apply(s)
	return p, err
}

func (p *Policy) apply(s string) error {
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, hasVal := strings.Cut(item, "=")
		if key == "substitute" {
			if val != SubstituteSameName && val != SubstituteNone {
				return fmt.Errorf("policy %q: substitute must be %s or %s: %w", item, SubstituteSameName, SubstituteNone, ErrConfig)
			}
			p.Substitute = val
			continue
		}
		on := true
		if hasVal {
			switch val {
			case "true":
			case "false":
				on = false
			default:
				return fmt.Errorf("policy %q: want true or false: %w", item, ErrConfig)
			}
		}
		switch key {
		case "shimShells":
			p.ShimShells = on
		case "fhsLoader":
			p.FHSLoader = on
		case "strict":
			p.Strict = on
		default:
			return fmt.Errorf("policy %q: unknown item: %w", item, ErrConfig)
		}
	}
	return nil
}

// String formats the policy the way ParsePolicy reads it.
func (p Policy) String() string {
	items := []string{"substitute=" + p.substitute()}
	for _, f := range []struct {
		name string
		on   bool
	}{{"shimShells", p.ShimShells}, {"fhsLoader", p.FHSLoader}, {"strict", p.Strict}} {
		if f.on {
			items = append(items, f.name)
		}
	}
	return strings.Join(items, ",")
}

func (p Policy) substitute() string {
	if p.Substitute == "" {
		return SubstituteSameName
	}
	return p.Substitute
}

// Budgets bound the work on hostile images (SEC-10). Zero fields take the
// defaults of SPEC.md 5.1.
type Budgets struct {
	// MaxEntries bounds the directory entries walked (default 2,000,000).
	MaxEntries int
	// MaxExecChecks bounds the files whose ELF or "#!" header is read
	// (default 20,000).
	MaxExecChecks int
	// Time bounds the scan (default 10 s).
	Time time.Duration
	// MaxInterpDepth bounds interpreter chains (default 5).
	MaxInterpDepth int
}

func (b Budgets) withDefaults() Budgets {
	if b.MaxEntries <= 0 {
		b.MaxEntries = 2_000_000
	}
	if b.MaxExecChecks <= 0 {
		b.MaxExecChecks = 20_000
	}
	if b.Time <= 0 {
		b.Time = 10 * time.Second
	}
	if b.MaxInterpDepth <= 0 {
		b.MaxInterpDepth = 5
	}
	return b
}

// DefaultPath is the PATH used when the process sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options tune Run. The zero value repairs with the default policy, an
// automatic shell mount point, no process (only PATH directories are
// checked) and the default budgets.
type Options struct {
	// Mode is ModeRepair (also for ""), ModeCheck or ModeOff.
	Mode Mode
	// Shell is ShellAuto (also for ""), ShellNever or ShellAlways.
	Shell ShellMode
	// Install is InstallMount (also for "") or InstallCopy.
	Install InstallMode
	// ShellBinary is the private, hash-checked quilt-sh copy (SEC-8).
	// InstallCopy copies it into the rootfs; ShellMount mounts it.
	ShellBinary ShellBinary
	// Policy is the repair policy.
	Policy Policy
	// Args, Env and Cwd are the container process's (process.args,
	// process.env, process.cwd): Args[0] is checked as the entrypoint,
	// PATH comes from Env (DefaultPath when unset).
	Args []string
	Env  []string
	Cwd  string
	// Budgets bound the scan.
	Budgets Budgets
}

// ApplyAnnotations sets Mode, Shell and Policy from the container's
// annotations. Apply CLI flags afterwards so that they win.
func (o *Options) ApplyAnnotations(a map[string]string) error {
	if v, ok := a[AnnotationMode]; ok {
		switch m := Mode(v); m {
		case ModeOff, ModeCheck, ModeRepair:
			o.Mode = m
		default:
			return fmt.Errorf("annotation %s=%q: want off, check or repair: %w", AnnotationMode, v, ErrConfig)
		}
	}
	if v, ok := a[AnnotationShell]; ok {
		s, err := ParseShellMode(v)
		if err != nil {
			return fmt.Errorf("annotation %s: %w", AnnotationShell, err)
		}
		o.Shell = s
	}
	if v, ok := a[AnnotationPolicy]; ok {
		if err := o.Policy.apply(v); err != nil {
			return fmt.Errorf("annotation %s: %w", AnnotationPolicy, err)
		}
	}
	return nil
}

// ParseShellMode parses never, auto or always.
func ParseShellMode(s string) (ShellMode, error) {
	switch m := ShellMode(s); m {
	case ShellNever, ShellAuto, ShellAlways:
		return m, nil
	}
	return "", fmt.Errorf("shell mode %q: want never, auto or always: %w", s, ErrConfig)
}

// normalize fills in defaults and checks the options.
func (o Options) normalize() (Options, error) {
	if o.Mode == "" {
		o.Mode = ModeRepair
	}
	if o.Shell == "" {
		o.Shell = ShellAuto
	}
	if o.Install == "" {
		o.Install = InstallMount
	}
	o.Policy.Substitute = o.Policy.substitute()
	switch {
	case o.Mode != ModeOff && o.Mode != ModeCheck && o.Mode != ModeRepair:
		return o, fmt.Errorf("mode %q: %w", o.Mode, ErrConfig)
	case o.Shell != ShellNever && o.Shell != ShellAuto && o.Shell != ShellAlways:
		return o, fmt.Errorf("shell mode %q: %w", o.Shell, ErrConfig)
	case o.Install != InstallMount && o.Install != InstallCopy:
		return o, fmt.Errorf("install mode %q: %w", o.Install, ErrConfig)
	case o.Policy.Substitute != SubstituteSameName && o.Policy.Substitute != SubstituteNone:
		return o, fmt.Errorf("substitute policy %q: %w", o.Policy.Substitute, ErrConfig)
	case o.Install == InstallCopy && o.Mode == ModeRepair && o.Shell != ShellNever && o.ShellBinary.Path == "":
		return o, fmt.Errorf("install mode copy without a shell binary: %w", ErrConfig)
	}
	if o.Cwd == "" {
		o.Cwd = "/"
	}
	o.Budgets = o.Budgets.withDefaults()
	return o, nil
}

// pathDirs returns the PATH directories of the process environment.
func (o Options) pathDirs() []string {
	p := DefaultPath
	for _, e := range o.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			p = v
		}
	}
	var dirs []string
	for _, d := range strings.Split(p, ":") {
		if strings.HasPrefix(d, "/") {
			dirs = append(dirs, cleanIn(d))
		}
	}
	return dirs
}
