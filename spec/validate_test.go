package spec

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *specs.Spec)
		field  string // empty: valid
	}{
		{"default", func(*specs.Spec) {}, ""},
		{"old version", func(s *specs.Spec) { s.Version = "1.0.2-dev" }, ""},
		{"invalid version", func(s *specs.Spec) { s.Version = "invalid" }, "ociVersion"},
		{"major 2", func(s *specs.Spec) { s.Version = "2.0.0" }, "ociVersion"},
		{"empty version", func(s *specs.Spec) { s.Version = "" }, "ociVersion"},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "root.path"},
		{"no process", func(s *specs.Spec) { s.Process = nil }, "process"},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "process.cwd"},
		{"unknown cap", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
		}, "process.capabilities.bounding"},
		{"soft above hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}}
		}, "process.rlimits[0]"},
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, "linux"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Default(Options{})
			tc.modify(s)
			err := Validate(s)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want a FieldError", err)
			}
			if fe.Field != tc.field {
				t.Fatalf("field = %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
}

func TestDefaultRootless(t *testing.T) {
	s := Default(Options{Rootless: true, UID: 1000, GID: 1000})
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			t.Fatal("rootless spec keeps a network namespace")
		}
	}
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].HostID != 1000 {
		t.Fatalf("uid mappings = %+v", s.Linux.UIDMappings)
	}
	if s.Linux.Resources != nil {
		t.Fatal("rootless spec keeps cgroup resources")
	}
	for _, m := range s.Mounts {
		for _, o := range m.Options {
			if strings.HasPrefix(o, "gid=") || strings.HasPrefix(o, "uid=") {
				t.Fatalf("mount %s keeps option %s", m.Destination, o)
			}
		}
	}
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
}
