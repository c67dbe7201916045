package nixfix

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxHookState bounds the state JSON a hook reads from stdin.
const maxHookState = 1 << 20

// HookReportName is the file, in the bundle directory, that the external
// hook writes the full report to.
const HookReportName = "nixfix.json"

// ParseHookState reads the container state that a runtime writes to an OCI
// hook's stdin and checks that it names an absolute bundle
// directory. Errors wrap ErrConfig.
func ParseHookState(r io.Reader) (specs.State, error) {
	var st specs.State
	data, err := io.ReadAll(io.LimitReader(r, maxHookState+1))
	if err != nil {
		return st, fmt.Errorf("hook state: %w: %w", ErrConfig, err)
	}
	if len(data) > maxHookState {
		return st, fmt.Errorf("hook state: larger than %d bytes: %w", maxHookState, ErrConfig)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("hook state: %w: %w", ErrConfig, err)
	}
	switch {
	case st.Bundle == "":
		return st, fmt.Errorf("hook state: no bundle: %w", ErrConfig)
	case !filepath.IsAbs(st.Bundle):
		return st, fmt.Errorf("hook state: bundle %q is not absolute: %w", st.Bundle, ErrConfig)
	}
	st.Bundle = filepath.Clean(st.Bundle)
	return st, nil
}

// HookOptions returns the rootfs and options of the container a hook runs
// for: BundleOptions of the state's bundle, with the shell installed by
// copy (a createRuntime or prestart hook cannot add a mount, R-0.4). The
// caller sets Options.ShellBinary.
func HookOptions(st specs.State) (string, Options, error) {
	rootfs, o, err := BundleOptions(st.Bundle)
	if err != nil {
		return "", Options{}, err
	}
	o.Install = InstallCopy
	return rootfs, o, nil
}
