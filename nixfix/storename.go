package nixfix

import (
	"fmt"
	"strings"
)

// StoreDir is the Nix store directory inside a root filesystem.
const StoreDir = "/nix/store"

const (
	storeHashLen    = 32
	storeNameMaxLen = 211
	// nixBase32 is the Nix base-32 alphabet: digits and lower-case letters
	// without e, o, u and t.
	nixBase32 = "0123456789abcdfghijklmnpqrsvwxyz"
)

// StorePath is a direct child of the store dir: /nix/store/<Hash>-<Name>.
type StorePath struct {
	// Hash is the 32-character nixbase32 hash part.
	Hash string
	// Name is the name part, usually with the version ("hello-2.12.1").
	Name string
}

// ParseStoreName parses the base name of a store path, "<hash>-<name>".
func ParseStoreName(base string) (StorePath, error) {
	if why := storeNameProblem(base); why != "" {
		return StorePath{}, fmt.Errorf("store name %q: %s: %w", base, why, ErrInvalidStoreName)
	}
	return StorePath{Hash: base[:storeHashLen], Name: base[storeHashLen+1:]}, nil
}

// storeNameProblem says what is wrong with base, or "" when it is valid.
func storeNameProblem(base string) string {
	if len(base) < storeHashLen+2 || base[storeHashLen] != '-' {
		return "want <32-character hash>-<name>"
	}
	for i := 0; i < storeHashLen; i++ {
		if strings.IndexByte(nixBase32, base[i]) < 0 {
			return fmt.Sprintf("hash character %q is not nixbase32", base[i])
		}
	}
	name := base[storeHashLen+1:]
	if len(name) > storeNameMaxLen {
		return fmt.Sprintf("name has %d characters, at most %d allowed", len(name), storeNameMaxLen)
	}
	if name[0] == '.' {
		return "name starts with '.'"
	}
	for i := 0; i < len(name); i++ {
		if !storeNameChar(name[i]) {
			return fmt.Sprintf("name character %q is not allowed", name[i])
		}
	}
	return ""
}

func storeNameChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("+-._?=", c) >= 0
}

// IsStoreName reports whether base is a valid store path name.
func IsStoreName(base string) bool { return storeNameProblem(base) == "" }

// ParseStorePath splits an absolute, clean in-root path under /nix/store
// into its store path and the sub-path below it ("" for the store path
// itself): "/nix/store/<h>-hello-2.12.1/bin/hello" gives hello-2.12.1 and
// "bin/hello".
func ParseStorePath(p string) (StorePath, string, error) {
	rest, ok := strings.CutPrefix(p, StoreDir+"/")
	if !ok {
		return StorePath{}, "", fmt.Errorf("path %q: %w", p, ErrNotStorePath)
	}
	base, sub, _ := strings.Cut(rest, "/")
	sp, err := ParseStoreName(base)
	if err != nil {
		return StorePath{}, "", fmt.Errorf("path %q: %w", p, err)
	}
	return sp, strings.Trim(sub, "/"), nil
}

// Base is the store path's base name, "<hash>-<name>".
func (s StorePath) Base() string { return s.Hash + "-" + s.Name }

// Path is the store path's in-root path, "/nix/store/<hash>-<name>".
func (s StorePath) Path() string { return StoreDir + "/" + s.Base() }

// String returns Path.
func (s StorePath) String() string { return s.Path() }

// PName is the name without its version, as Nix's parseDrvName splits it:
// the version starts at the first '-' that is followed by a non-letter
// ("glibc-2.40-66" gives "glibc", "bash-interactive-5.2p37" gives
// "bash-interactive").
func (s StorePath) PName() string {
	pname, _ := splitVersion(s.Name)
	return pname
}

// Version is the version part of Name, or "" when there is none.
func (s StorePath) Version() string {
	_, v := splitVersion(s.Name)
	return v
}

func splitVersion(name string) (pname, version string) {
	for i := 0; i+1 < len(name); i++ {
		if name[i] != '-' {
			continue
		}
		c := name[i+1]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}
