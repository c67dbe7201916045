package nixfix

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

const testHash = "0c8ybpmhxilb0xn0b6y0nzcbffgpvs3q"

func TestParseStoreName(t *testing.T) {
	tests := []struct {
		base       string
		ok         bool
		name       string
		pname, ver string
	}{
		{testHash + "-hello-2.12.1", true, "hello-2.12.1", "hello", "2.12.1"},
		{testHash + "-glibc-2.40-66", true, "glibc-2.40-66", "glibc", "2.40-66"},
		{testHash + "-bash-interactive-5.2p37", true, "bash-interactive-5.2p37", "bash-interactive", "5.2p37"},
		{testHash + "-system-path", true, "system-path", "system-path", ""},
		{testHash + "-etc", true, "etc", "etc", ""},
		{testHash + "-a+b_c?d=e.f", true, "a+b_c?d=e.f", "a+b_c?d=e.f", ""},
		{testHash + "-" + strings.Repeat("x", 211), true, strings.Repeat("x", 211), strings.Repeat("x", 211), ""},
		{testHash + "-" + strings.Repeat("x", 212), false, "", "", ""},
		{testHash + "-", false, "", "", ""},
		{testHash + "-.hidden", false, "", "", ""},
		{testHash + "-a/b", false, "", "", ""},
		{testHash + "-a b", false, "", "", ""},
		{testHash + "hello", false, "", "", ""},
		{testHash[:31] + "-hello", false, "", "", ""},
		{"0c8ybpmhxilb0xn0b6y0nzcbffgpvs3e-hello", false, "", "", ""}, // 'e' is not nixbase32
		{"0C8YBPMHXILB0XN0B6Y0NZCBFFGPVS3Q-hello", false, "", "", ""},
		{"", false, "", "", ""},
	}
	for _, tt := range tests {
		sp, err := ParseStoreName(tt.base)
		if (err == nil) != tt.ok {
			t.Errorf("ParseStoreName(%q) error = %v, want ok=%v", tt.base, err, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrInvalidStoreName) {
				t.Errorf("ParseStoreName(%q) = %v, want ErrInvalidStoreName", tt.base, err)
			}
			continue
		}
		if sp.Hash != testHash || sp.Name != tt.name || sp.PName() != tt.pname || sp.Version() != tt.ver {
			t.Errorf("ParseStoreName(%q) = %+v pname %q version %q", tt.base, sp, sp.PName(), sp.Version())
		}
		if sp.Base() != tt.base || sp.Path() != "/nix/store/"+tt.base {
			t.Errorf("round trip of %q gives %q", tt.base, sp.Path())
		}
	}
}

func TestParseStorePath(t *testing.T) {
	tests := []struct {
		p, base, sub string
		err          error
	}{
		{"/nix/store/" + testHash + "-hello-2.12.1/bin/hello", testHash + "-hello-2.12.1", "bin/hello", nil},
		{"/nix/store/" + testHash + "-hello-2.12.1", testHash + "-hello-2.12.1", "", nil},
		{"/nix/store/" + testHash + "-hello-2.12.1/", testHash + "-hello-2.12.1", "", nil},
		{"/nix/store/x-hello", "", "", ErrInvalidStoreName},
		{"/nix/store", "", "", ErrNotStorePath},
		{"/nix/storex/" + testHash + "-a", "", "", ErrNotStorePath},
		{"/usr/bin/env", "", "", ErrNotStorePath},
	}
	for _, tt := range tests {
		sp, sub, err := ParseStorePath(tt.p)
		if !errors.Is(err, tt.err) || (tt.err != nil) != (err != nil) {
			t.Errorf("ParseStorePath(%q) error = %v, want %v", tt.p, err, tt.err)
			continue
		}
		if err == nil && (sp.Base() != tt.base || sub != tt.sub) {
			t.Errorf("ParseStorePath(%q) = %q, %q", tt.p, sp.Base(), sub)
		}
	}
}

// storeNameRE is SPEC.md's definition of a store path name.
var storeNameRE = regexp.MustCompile(`^[0123456789abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+\-._?=]+$`)

func FuzzParseStoreName(f *testing.F) {
	for _, s := range []string{
		testHash + "-hello-2.12.1", testHash + "-.x", testHash + "-", "x", "",
		testHash + "-glibc-2.40-66", testHash + "-a\x00b", testHash + "-" + strings.Repeat("a", 212),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, base string) {
		sp, err := ParseStoreName(base)
		want := storeNameRE.MatchString(base) && base[33] != '.' && len(base) <= 33+211
		if (err == nil) != want {
			t.Fatalf("ParseStoreName(%q) error = %v, spec says valid=%v", base, err, want)
		}
		if IsStoreName(base) != want {
			t.Fatalf("IsStoreName(%q) != %v", base, want)
		}
		if err != nil {
			return
		}
		if sp.Base() != base {
			t.Fatalf("round trip %q -> %q", base, sp.Base())
		}
		if pn, v := sp.PName(), sp.Version(); v != "" && pn+"-"+v != sp.Name {
			t.Fatalf("split %q -> %q + %q", sp.Name, pn, v)
		}
		back, sub, err := ParseStorePath(sp.Path() + "/bin/x")
		if err != nil || back != sp || sub != "bin/x" {
			t.Fatalf("ParseStorePath(%q) = %+v %q %v", sp.Path()+"/bin/x", back, sub, err)
		}
	})
}
