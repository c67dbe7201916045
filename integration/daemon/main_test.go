// Package daemon_test runs quiltd for real: it builds quiltd, quilt-init,
// quilt-sh, quiltctl and the test init, makes a busybox image, starts
// daemons on private sockets, roots and cgroup parents, and drives them
// through the gRPC API and quiltctl.
package daemon_test

import (
	"archive/tar"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quilt-runtime/quilt/integration/internal/testbuild"
)

var (
	binDir      string // quiltd, quiltctl, quilt-init, quilt-sh, testinit
	imagePath   string // busybox + testinit rootfs tarball (.tar.gz)
	runID       string // random, in every private name of this run
	setupErr    error
	busyboxPath = "/bin/busybox"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Geteuid() != 0 || testing.Short() {
		os.Exit(m.Run()) // every test skips
	}
	dir, err := os.MkdirTemp("", "quiltd-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	var b [4]byte
	_, _ = rand.Read(b[:])
	runID = hex.EncodeToString(b[:])
	setupErr = setup(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func setup(dir string) error {
	root, err := testbuild.ModuleRoot()
	if err != nil {
		return err
	}
	goBin := testbuild.GoCommand()
	static := []string{"CGO_ENABLED=0"}
	for _, b := range []struct {
		env  []string
		args []string
	}{
		{testbuild.QuiltEnv(), []string{"-tags", "seccomp", "-o", filepath.Join(dir, "quiltd"), "./cmd/quiltd"}},
		{static, []string{"-o", filepath.Join(dir, "quiltctl"), "./cmd/quiltctl"}},
		{static, []string{"-o", filepath.Join(dir, "quilt-init"), "./cmd/quilt-init"}},
		{static, []string{"-o", filepath.Join(dir, "quilt-sh"), "./cmd/quilt-sh"}},
		{static, []string{"-o", filepath.Join(dir, "testinit"), "./integration/testinit"}},
	} {
		if err := testbuild.Build(root, goBin, b.env, b.args...); err != nil {
			return err
		}
	}
	if err := testbuild.CheckStatic(busyboxPath); err != nil {
		return err
	}
	imagePath = filepath.Join(dir, "busybox.tar.gz")
	return writeImage(imagePath, filepath.Join(dir, "testinit"))
}

// writeImage writes a rootfs tarball: busybox with its applets, testinit,
// /etc/passwd and /etc/group.
func writeImage(path, testinit string) error {
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "root", "sys", "home", "home/user"} {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	for _, bin := range []struct{ src, dst string }{{busyboxPath, "bin/busybox"}, {testinit, "bin/testinit"}} {
		body, err := os.ReadFile(bin.src)
		if err != nil {
			return err
		}
		if err := file(bin.dst, 0o755, body); err != nil {
			return err
		}
	}
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	etc := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nuser:x:1000:\nextra:x:2000:user\nnogroup:x:65534:\n",
	}
	for name, body := range etc {
		if err := file(name, 0o644, []byte(body)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// writeShellLessImage writes a rootfs tarball with only /bin/testinit and
// an empty /tmp: no shell.
func writeShellLessImage(path, testinit string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	body, err := os.ReadFile(testinit)
	if err != nil {
		return err
	}
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755},
		{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777},
		{Typeflag: tar.TypeReg, Name: "bin/testinit", Mode: 0o755, Size: int64(len(body))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if _, err := tw.Write(body); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
