package shell

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// The #! line and ELF headers come from files in the image, which may be
// hostile; so do grep patterns in scripts.

func FuzzParseShebang(f *testing.F) {
	for _, seed := range []string{"#!/bin/sh\n", "#! /usr/bin/env bash -x\n", "#!\t/a\tb c\r\n", "#!", "#!/x\x00y z", "echo"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		interp, arg, ok := parseShebang(head)
		if !ok {
			if interp != "" || arg != "" {
				t.Fatalf("not ok but %q %q", interp, arg)
			}
			return
		}
		if interp == "" || strings.ContainsAny(interp, " \t\n\x00") || strings.ContainsAny(arg, "\n\x00") {
			t.Fatalf("parseShebang(%q) = %q, %q", head, interp, arg)
		}
		if len(interp)+len(arg) > shebangMax {
			t.Fatalf("parseShebang(%q) read past %d bytes", head, shebangMax)
		}
	})
}

func FuzzELFInterp(f *testing.F) {
	f.Add(brokenELF("/nix/store/x/lib/ld-linux-x86-64.so.2"))
	f.Add(brokenELF(""))
	f.Add([]byte("\x7fELF\x01\x02\x01"))
	f.Add([]byte("#!/bin/sh"))
	f.Fuzz(func(t *testing.T, data []byte) {
		interp, err := elfInterp(bytes.NewReader(data))
		if err == nil && len(interp) > 4096 {
			t.Fatalf("interpreter of %d bytes", len(interp))
		}
	})
}

func FuzzGrepPattern(f *testing.F) {
	for _, seed := range []string{`a\(b\)*c`, `[]a]`, `[[:alpha:]\]`, `^*$`, `x\{2,3\}`, `a|b+`, `[`, `\`, `$a^`, `\(\|x\)`, "\\\xdb"} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, pattern string, extended bool) {
		if !utf8.ValidString(pattern) {
			if _, err := compileGrep([]string{pattern}, extended, false, false, false, false); err == nil {
				t.Fatalf("invalid UTF-8 pattern %q accepted", pattern)
			}
			return
		}
		re, err := compileGrep([]string{pattern}, extended, false, false, false, false)
		if err != nil {
			return
		}
		re.MatchString(pattern)
		// A fixed string always matches itself.
		lit, err := compileGrep([]string{pattern}, false, true, false, false, true)
		if err != nil || !lit.MatchString(pattern) && !strings.Contains(pattern, "\n") {
			t.Fatalf("-F -x %q does not match itself (%v)", pattern, err)
		}
	})
}
