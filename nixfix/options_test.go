package nixfix

import (
	"errors"
	"slices"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in   string
		want Policy
		err  bool
	}{
		{"", Policy{}, false},
		{"substitute=none", Policy{Substitute: SubstituteNone}, false},
		{"substitute=same-name, shimShells ,fhsLoader,strict", Policy{Substitute: SubstituteSameName, ShimShells: true, FHSLoader: true, Strict: true}, false},
		{"strict,strict=false", Policy{}, false},
		{"substitute=any", Policy{}, true},
		{"shimShells=yes", Policy{}, true},
		{"patchelf", Policy{}, true},
	}
	for _, tt := range tests {
		got, err := ParsePolicy(tt.in)
		if (err != nil) != tt.err || (err == nil && got != tt.want) {
			t.Errorf("ParsePolicy(%q) = %+v, %v", tt.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("ParsePolicy(%q) error %v is not ErrConfig", tt.in, err)
		}
		if err == nil {
			back, err := ParsePolicy(got.String())
			back.Substitute, got.Substitute = back.substitute(), got.substitute()
			if err != nil || back != got {
				t.Errorf("round trip of %q via %q = %+v, %v", tt.in, got.String(), back, err)
			}
		}
	}
}

func TestApplyAnnotations(t *testing.T) {
	tests := []struct {
		a    map[string]string
		want Options
		err  bool
	}{
		{nil, Options{}, false},
		{map[string]string{AnnotationMode: "check", AnnotationShell: "always", AnnotationPolicy: "fhsLoader"},
			Options{Mode: ModeCheck, Shell: ShellAlways, Policy: Policy{FHSLoader: true}}, false},
		{map[string]string{AnnotationMode: "off", "other": "x"}, Options{Mode: ModeOff}, false},
		{map[string]string{AnnotationMode: "fix"}, Options{}, true},
		{map[string]string{AnnotationShell: "sometimes"}, Options{}, true},
		{map[string]string{AnnotationPolicy: "strict,bogus"}, Options{}, true},
	}
	for _, tt := range tests {
		var o Options
		err := o.ApplyAnnotations(tt.a)
		if (err != nil) != tt.err || (err == nil && (o.Mode != tt.want.Mode || o.Shell != tt.want.Shell || o.Policy != tt.want.Policy)) {
			t.Errorf("ApplyAnnotations(%v) = %+v, %v", tt.a, o, err)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("ApplyAnnotations(%v) error %v is not ErrConfig", tt.a, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	o, err := Options{}.normalize()
	if err != nil || o.Mode != ModeRepair || o.Shell != ShellAuto || o.Install != InstallMount ||
		o.Policy.Substitute != SubstituteSameName || o.Cwd != "/" || o.Budgets.MaxEntries != 2_000_000 {
		t.Errorf("defaults = %+v, %v", o, err)
	}
	for _, bad := range []Options{
		{Mode: "fix"}, {Shell: "maybe"}, {Install: "hardlink"}, {Policy: Policy{Substitute: "any"}},
		{Install: InstallCopy}, // copy needs the shell binary
	} {
		if _, err := bad.normalize(); !errors.Is(err, ErrConfig) {
			t.Errorf("normalize(%+v) = %v, want ErrConfig", bad, err)
		}
	}
	if _, err := (Options{Install: InstallCopy, Mode: ModeCheck}).normalize(); err != nil {
		t.Errorf("check mode needs no shell binary: %v", err)
	}
}

func TestPathDirs(t *testing.T) {
	tests := []struct {
		env  []string
		want []string
	}{
		{nil, []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}},
		{[]string{"HOME=/", "PATH=/bin:relative::/usr//bin/"}, []string{"/bin", "/usr/bin"}},
	}
	for _, tt := range tests {
		if got := (Options{Env: tt.env}).pathDirs(); !slices.Equal(got, tt.want) {
			t.Errorf("pathDirs(%q) = %q, want %q", tt.env, got, tt.want)
		}
	}
}
