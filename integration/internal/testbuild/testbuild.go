// Package testbuild builds the project's binaries for the integration test
// suites (integration/ and integration/clients/), so that each suite tests
// the code of the checkout it runs in.
package testbuild

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ModuleRoot is the nearest directory above the working directory that
// holds a go.mod.
func ModuleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("module root: no go.mod above the working directory")
		}
		d = parent
	}
}

// GoCommand is the go command on PATH, or the one of the usual tarball.
func GoCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// QuiltEnv is the environment in which the Makefile builds bin/quilt and
// bin/quiltd.
func QuiltEnv() []string { return []string{"GOEXPERIMENT=jsonv2"} }

// QuiltFlags are the go build flags of bin/quilt in the Makefile: seccomp,
// and linked statically.
func QuiltFlags() []string {
	return []string{"-tags", "seccomp netgo osusergo", "-ldflags", "-extldflags -static"}
}

// Build runs `go build args...` in dir with env added to the environment.
func Build(dir, goBin string, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %w\n%s", args, err, out)
	}
	return nil
}

// CheckStatic refuses a dynamically linked busybox, which cannot run in a
// rootfs that has no libc.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("busybox %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %s is dynamically linked (install Debian's busybox-static)", path)
		}
	}
	return nil
}
