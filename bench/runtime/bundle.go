package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rootfsDirs are created in the rootfs besides the applet directories, as
// mount points for the default configuration and for a usable shell.
var rootfsDirs = []string{"proc", "sys", "dev", "tmp", "etc", "root", "bin", "sbin", "usr/bin", "usr/sbin"}

// buildRootfs makes a busybox root filesystem at dir: a copy of the static
// busybox binary at /bin/busybox and one symlink per applet, at the paths
// `busybox --list-full` gives (bin/sh, usr/bin/awk, ...).
func buildRootfs(busybox, dir string) error {
	for _, d := range rootfsDirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("rootfs directory: %w", err)
		}
	}
	if err := copyFile(busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox applet list %s: %w", busybox, err)
	}
	for _, applet := range appletPaths(string(out)) {
		p := filepath.Join(dir, applet)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("applet directory %s: %w", applet, err)
		}
		if err := os.Symlink("/bin/busybox", p); err != nil && !os.IsExist(err) {
			return fmt.Errorf("applet link %s: %w", applet, err)
		}
	}
	return nil
}

// appletPaths parses `busybox --list-full` output into clean relative paths,
// dropping empty lines, busybox itself and anything that would leave the
// rootfs.
func appletPaths(list string) []string {
	var paths []string
	for _, line := range strings.Split(list, "\n") {
		p := filepath.Clean("/" + strings.TrimSpace(line))
		if p == "/" || p == "/bin/busybox" {
			continue
		}
		paths = append(paths, p[1:])
	}
	return paths
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dst, err)
	}
	return nil
}

// benchConfig returns a copy of base, the configuration a runtime's `spec`
// command wrote, changed for one benchmark container: no terminal, the
// process /bin/true, the shared rootfs at an absolute path and a cgroup of
// its own below the harness's private parent.
func benchConfig(base []byte, rootfs, cgroupsPath string) ([]byte, error) {
	var s specs.Spec
	if err := json.Unmarshal(base, &s); err != nil {
		return nil, fmt.Errorf("parse config.json: %w", err)
	}
	if s.Process == nil {
		s.Process = &specs.Process{Cwd: "/"}
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/true"}
	if s.Root == nil {
		s.Root = &specs.Root{Readonly: true}
	}
	s.Root.Path = rootfs
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	s.Linux.CgroupsPath = cgroupsPath
	out, err := json.MarshalIndent(&s, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("encode config.json: %w", err)
	}
	return out, nil
}

// generateSpec runs `RUNTIME spec` in a fresh directory below dir and
// returns the config.json it wrote.
func generateSpec(rt *runtime, dir string) ([]byte, error) {
	d, err := os.MkdirTemp(dir, "spec-")
	if err != nil {
		return nil, fmt.Errorf("spec directory: %w", err)
	}
	defer os.RemoveAll(d)
	cmd := exec.Command(rt.path, "spec")
	cmd.Dir = d
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s spec: %w: %w: %s", rt.name, ErrCommand, err, strings.TrimSpace(string(out)))
	}
	b, err := os.ReadFile(filepath.Join(d, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("%s spec output: %w", rt.name, err)
	}
	return b, nil
}

// writeBundles writes one bundle directory per container slot of rt, each
// holding only a config.json that points at the shared rootfs.
func writeBundles(rt *runtime, base []byte, rootfs, cgroupParent string, slots int) error {
	for i := range slots {
		id := rt.id(i)
		cfg, err := benchConfig(base, rootfs, cgroupParent+"/"+id)
		if err != nil {
			return err
		}
		d := rt.bundle(i)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("bundle %s: %w", id, err)
		}
		if err := os.WriteFile(filepath.Join(d, "config.json"), cfg, 0o644); err != nil {
			return fmt.Errorf("bundle %s: %w", id, err)
		}
	}
	return nil
}

// specDiff returns the JSON paths (".process.args") at which two
// config.json documents differ once decoded as runtime-spec
// configurations, at most limit of them; ok is false if either does not
// decode.
func specDiff(a, b []byte, limit int) (paths []string, ok bool) {
	ga, oka := canonical(a)
	gb, okb := canonical(b)
	if !oka || !okb {
		return nil, false
	}
	jsonDiff(ga, gb, "", &paths)
	if len(paths) > limit {
		paths = append(paths[:limit], "...")
	}
	return paths, true
}

// canonical decodes a config.json through specs.Spec, so that only fields
// the runtime-spec knows count, then into generic JSON values.
func canonical(doc []byte) (any, bool) {
	var s specs.Spec
	if json.Unmarshal(doc, &s) != nil {
		return nil, false
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return nil, false
	}
	var v any
	return v, json.Unmarshal(b, &v) == nil
}

func jsonDiff(a, b any, path string, out *[]string) {
	ma, oka := a.(map[string]any)
	mb, okb := b.(map[string]any)
	if oka && okb {
		keys := make([]string, 0, len(ma)+len(mb))
		for k := range ma {
			keys = append(keys, k)
		}
		for k := range mb {
			if _, dup := ma[k]; !dup {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			jsonDiff(ma[k], mb[k], path+"."+k, out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, path)
	}
}
