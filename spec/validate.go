package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid configuration")

// FieldError names the field of config.json that is wrong and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets callers test for ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks the parts of s that Quilt relies on before anything is
// created on the host: a supported ociVersion, a root, a process with an
// absolute cwd and arguments, and known capability names.
func Validate(s *specs.Spec) error {
	if err := validateVersion(s.Version); err != nil {
		return err
	}
	if s.Root == nil || s.Root.Path == "" {
		return invalid("root.path", "must be set")
	}
	if s.Process == nil {
		return invalid("process", "must be set")
	}
	if err := validateProcess("process", s.Process); err != nil {
		return err
	}
	if s.Linux == nil {
		return invalid("linux", "must be set on Linux")
	}
	return nil
}

// validateVersion accepts any 1.x.y runtime-spec version, with an optional
// pre-release suffix ("1.0.2-dev").
func validateVersion(v string) error {
	if v == "" {
		return invalid("ociVersion", "must be set")
	}
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return invalid("ociVersion", "%q is not a semantic version (want 1.x.y)", v)
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return invalid("ociVersion", "%q is not a semantic version (want 1.x.y)", v)
		}
	}
	if parts[0] != "1" {
		return invalid("ociVersion", "version %q is not supported (Quilt supports 1.x, up to %s)", v, specs.Version)
	}
	return nil
}

// ValidateProcess checks a process given to exec, or the container's own.
func ValidateProcess(p *specs.Process) error { return validateProcess("process", p) }

func validateProcess(field string, p *specs.Process) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return invalid(field+".args", "must not be empty")
	}
	if p.Cwd == "" {
		return invalid(field+".cwd", "must be set")
	}
	if !filepath.IsAbs(p.Cwd) {
		return invalid(field+".cwd", "%q is not an absolute path", p.Cwd)
	}
	if c := p.Capabilities; c != nil {
		sets := []struct {
			name string
			caps []string
		}{
			{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable},
			{"permitted", c.Permitted}, {"ambient", c.Ambient},
		}
		for _, set := range sets {
			for _, name := range set.caps {
				if !knownCapability(name) {
					return invalid(field+".capabilities."+set.name, "unknown capability %q", name)
				}
			}
		}
	}
	for i, rl := range p.Rlimits {
		if rl.Soft > rl.Hard {
			return invalid(fmt.Sprintf("%s.rlimits[%d]", field, i), "%s soft limit %d is above its hard limit %d", rl.Type, rl.Soft, rl.Hard)
		}
	}
	return nil
}

var knownCaps = func() map[string]bool {
	m := make(map[string]bool)
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = true
	}
	return m
}()

func knownCapability(name string) bool { return knownCaps[strings.ToUpper(name)] }
