package nixfix

import (
	"fmt"
	"strings"
)

// Diagnosis explains why the kernel cannot start a program in a rootfs:
// the in-root resolution chain and the first missing element (R-9.5; the
// same analysis serves quilt-sh's diagnose builtin, S-6, with rootfs "/").
type Diagnosis struct {
	// Path is the program as given; Resolved its in-root canonical path
	// when it resolves.
	Path     string   `json:"path"`
	Resolved string   `json:"resolved,omitempty"`
	Chain    []string `json:"chain,omitempty"`
	// Problem is empty when the program looks runnable.
	Problem string `json:"problem,omitempty"`
	// Missing is the first missing path, and MissingStorePath the store
	// path it lies in, if any.
	Missing          string `json:"missing,omitempty"`
	MissingStorePath string `json:"missingStorePath,omitempty"`
}

// String is the diagnosis as one line, e.g. "ELF interpreter
// /nix/store/…/ld-linux-x86-64.so.2 is missing in the container (broken Nix
// closure?)"; "" when there is no problem.
func (d Diagnosis) String() string { return d.Problem }

// Diagnose analyses the program p in the rootfs: an absolute or relative
// path (relative to "/"), or a bare name looked up in the PATH of env.
func Diagnose(rootfs, p string, env []string) (Diagnosis, error) {
	r, err := openRoot(rootfs)
	if err != nil {
		return Diagnosis{}, err
	}
	defer r.close()
	o, err := Options{Mode: ModeCheck, Args: []string{p}, Env: env}.normalize()
	if err != nil {
		return Diagnosis{}, err
	}
	s := &scan{r: r, o: o}
	s.loadStore()
	d := Diagnosis{Path: p}
	name := s.entrypoint()
	if name == "" {
		d.Problem = fmt.Sprintf("%s not found in PATH", p)
		return d, nil
	}
	d.Problem = s.diagnose(&d, name, "", 0)
	return d, nil
}

// diagnose returns the problem with running p, named role in the message
// ("" for the program itself, "ELF interpreter", "script interpreter").
func (s *scan) diagnose(d *Diagnosis, p, role string, depth int) string {
	res, h, ok := s.inspect(p)
	if depth == 0 {
		d.Chain = res.chain
		if res.ok() {
			d.Resolved = res.path
		}
	}
	what := strings.TrimSpace(role + " " + p)
	switch {
	case res.status == statusNoEnt:
		d.Missing = res.path
		msg := what + " is missing in the container"
		if res.path != cleanIn(p) {
			msg += " (" + res.path + " does not exist)"
		}
		if sp, _, miss, _ := s.storeMiss(res, false); miss {
			d.MissingStorePath = sp.Path()
			msg += " (broken Nix closure?)"
		}
		return msg
	case res.status == statusLoop:
		return what + ": too many levels of symbolic links"
	case !res.ok():
		return fmt.Sprintf("%s does not resolve in the container (%s at %s)", what, res.status, res.path)
	case res.path == shellPlaceholder:
		return what + " is the quilt-sh mount point, and quilt-sh is not mounted"
	case !res.isReg():
		return what + " is not a regular file"
	case res.st.Mode&0o111 == 0:
		return what + " is not executable"
	case !ok || depth >= maxInterpDepthDiag:
		return ""
	}
	var sub string
	switch {
	case h.elf != nil && h.elf.Interp != "":
		sub = s.diagnose(d, h.elf.Interp, "ELF interpreter", depth+1)
	case h.shebang != nil:
		sub = s.diagnose(d, s.interpPath(h.shebang.Interpreter), "script interpreter", depth+1)
	}
	if sub != "" && role != "" {
		sub = what + ": " + sub
	}
	return sub
}

// maxInterpDepthDiag bounds interpreter chains in a diagnosis.
const maxInterpDepthDiag = 5
