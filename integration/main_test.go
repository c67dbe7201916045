package integration

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quilt-runtime/quilt/integration/internal/testbuild"
)

// The environment the tests share, set once by TestMain.
var (
	// runtimeBin is the runtime under test: $QUILT_TEST_RUNTIME, or quilt
	// built from this module.
	runtimeBin string
	// isRunc is true when runtimeBin's base name is runc, whose known
	// differences from the spec the quilt-only tests skip.
	isRunc bool
	// testinitBin is the static test program copied into every rootfs.
	testinitBin string
	// busyboxBin is the host's static busybox, and applets its commands.
	busyboxBin string
	applets    []string
	// cgroupParent is this run's private cgroup parent ("/quilt-it-<hex>");
	// every container's cgroupsPath is below it, and TestMain removes it.
	cgroupParent string
	// setupErr, when set, fails every test that needs a container.
	setupErr error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	if os.Geteuid() != 0 || testing.Short() {
		return m.Run() // every test skips
	}
	dir, err := os.MkdirTemp("", "quilt-it-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	setupErr = setup(dir)
	if setupErr != nil {
		fmt.Fprintln(os.Stderr, "integration setup:", setupErr)
		return 1
	}
	code := m.Run()
	if err := removeCgroupParent(); err != nil {
		fmt.Fprintln(os.Stderr, "integration cleanup:", err)
		code = 1
	}
	return code
}

// setup builds (or finds) the runtime and testinit into dir and checks the
// host's busybox.
func setup(dir string) error {
	root, err := testbuild.ModuleRoot()
	if err != nil {
		return err
	}
	goBin := testbuild.GoCommand()
	runtimeBin = os.Getenv("QUILT_TEST_RUNTIME")
	if runtimeBin == "" {
		runtimeBin = filepath.Join(dir, "quilt")
		if err := testbuild.Build(root, goBin, testbuild.QuiltEnv(), append(testbuild.QuiltFlags(), "-o", runtimeBin, "./cmd/quilt")...); err != nil {
			return fmt.Errorf("build quilt: %w", err)
		}
		// quilt finds quilt-sh next to itself when it is not installed.
		shellBin := filepath.Join(dir, "quilt-sh")
		if err := testbuild.Build(root, goBin, []string{"CGO_ENABLED=0"}, "-trimpath", "-ldflags", "-s -w", "-o", shellBin, "./cmd/quilt-sh"); err != nil {
			return fmt.Errorf("build quilt-sh: %w", err)
		}
		// `quilt unpack` runs quilt-unpack, found next to quilt.
		if err := testbuild.Build(root, goBin, []string{"CGO_ENABLED=0"}, "-trimpath", "-o", filepath.Join(dir, "quilt-unpack"), "./cmd/quilt-unpack"); err != nil {
			return fmt.Errorf("build quilt-unpack: %w", err)
		}
	} else if runtimeBin, err = exec.LookPath(runtimeBin); err != nil {
		return fmt.Errorf("QUILT_TEST_RUNTIME: %w", err)
	}
	isRunc = filepath.Base(runtimeBin) == "runc"

	testinitBin = filepath.Join(dir, "testinit")
	if err := testbuild.Build(root, goBin, []string{"CGO_ENABLED=0"}, "-o", testinitBin, "./integration/testinit"); err != nil {
		return fmt.Errorf("build testinit: %w", err)
	}
	if busyboxBin, err = exec.LookPath("busybox"); err != nil {
		return fmt.Errorf("busybox: %w (install Debian's busybox-static)", err)
	}
	if err := testbuild.CheckStatic(busyboxBin); err != nil {
		return err
	}
	out, err := exec.Command(busyboxBin, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	applets = strings.Fields(string(out))
	cgroupParent = "/quilt-it-" + randomHex(4)
	return nil
}

// removeCgroupParent removes this run's cgroup parent from every hierarchy,
// with any child a failed test left behind (reported by that test).
func removeCgroupParent() error {
	var errs []error
	for _, d := range cgroupDirs(cgroupParent) {
		// Children first: walk collects parents before children.
		var dirs []string
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
