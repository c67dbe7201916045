package nixfix

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SpecOptions returns the options for a container config: its process
// (args, env, cwd) and its annotations. CLI flags are applied
// to the result afterwards.
func SpecOptions(s *specs.Spec) (Options, error) {
	var o Options
	if s.Process != nil {
		o.Args, o.Env, o.Cwd = s.Process.Args, s.Process.Env, s.Process.Cwd
	}
	if err := o.ApplyAnnotations(s.Annotations); err != nil {
		return Options{}, err
	}
	return o, nil
}

// BundleOptions reads bundle/config.json and returns the host path of its
// rootfs (root.path, relative to the bundle unless absolute) and its
// options. Errors wrap ErrConfig (report code E_CONFIG).
func BundleOptions(bundle string) (string, Options, error) {
	p := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return "", Options{}, fmt.Errorf("bundle config %s: %w: %w", p, ErrConfig, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return "", Options{}, fmt.Errorf("bundle config %s: %w: %w", p, ErrConfig, err)
	}
	if s.Root == nil || s.Root.Path == "" {
		return "", Options{}, fmt.Errorf("bundle config %s: no root.path: %w", p, ErrConfig)
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	o, err := SpecOptions(&s)
	if err != nil {
		return "", Options{}, fmt.Errorf("bundle config %s: %w", p, err)
	}
	return rootfs, o, nil
}
