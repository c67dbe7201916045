package clients

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/integration/internal/testbuild"
)

// suite is the environment the client tests share, set once by TestMain.
var suite struct {
	// runtime is the runtime under test: $QUILT_TEST_RUNTIME, or quilt
	// built from this module. The clients call it through a logging
	// wrapper (see wrapper_test.go).
	runtime string
	// base holds one work directory per client (base/<client>). Its path
	// is fixed, so that a run can remove what an aborted run left.
	base string
	// busyboxImage and pauseImage are docker-archive tars that every client
	// loads: localhost/quilt-busybox:latest and localhost/quilt-pause:latest.
	busyboxImage, pauseImage string
	// setupErr, when set, fails every client test.
	setupErr error
}

// globalDirs are directories outside the work directories that the
// clients create on their own (shim sockets, plugin and CNI caches, netns
// mounts). The ones absent before the run are removed after it when empty,
// children first.
var globalDirs = []string{
	"/run/containerd", "/run/containerd/s", "/run/containerd/runc",
	"/run/docker", "/run/docker/plugins",
	"/run/netns", "/run/containers", "/run/libpod",
	"/var/lib/cni", "/var/lib/cni/results",
	// The default roots of quilt and runc, which podman uses.
	"/run/quilt", "/run/quilt/.locks", "/run/runc",
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	if os.Geteuid() != 0 || testing.Short() {
		return m.Run() // every test skips
	}
	unlock, err := lockRun()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clients:", err)
		return 1
	}
	defer unlock()

	var absent []string
	for _, d := range globalDirs {
		if _, err := os.Lstat(d); errors.Is(err, os.ErrNotExist) {
			absent = append(absent, d)
		}
	}
	suite.base = filepath.Join(os.TempDir(), "quilt-clients-it")
	for _, c := range allClients {
		if err := c.purge(); err != nil {
			fmt.Fprintf(os.Stderr, "clients: remove what an earlier run left: %v\n", err)
			return 1
		}
	}
	tmp, err := os.MkdirTemp("", "quilt-clients-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clients:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	suite.setupErr = setup(tmp)
	if suite.setupErr != nil {
		fmt.Fprintln(os.Stderr, "clients setup:", suite.setupErr)
	}
	code := m.Run()
	for i := len(absent) - 1; i >= 0; i-- {
		_ = os.Remove(absent[i]) // only when empty
	}
	_ = os.Remove(suite.base)
	return code
}

// lockRun serialises runs of this suite on the machine: the clients use
// fixed bridge names, subnets and cgroup parents.
func lockRun() (func(), error) {
	path := filepath.Join(os.TempDir(), "quilt-clients-it.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	deadline := time.Now().Add(15 * time.Minute)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s (another run of the client tests?): %w", path, err)
		}
		time.Sleep(time.Second)
	}
	return func() { f.Close() }, nil
}

// setup builds (or finds) the runtime and the pause program into dir, and
// writes the images.
func setup(dir string) error {
	root, err := testbuild.ModuleRoot()
	if err != nil {
		return err
	}
	goBin := testbuild.GoCommand()
	if rt := os.Getenv("QUILT_TEST_RUNTIME"); rt != "" {
		if suite.runtime, err = exec.LookPath(rt); err != nil {
			return fmt.Errorf("QUILT_TEST_RUNTIME: %w", err)
		}
		if suite.runtime, err = filepath.Abs(suite.runtime); err != nil {
			return err
		}
	} else if suite.runtime = os.Getenv("QUILT_BINARY"); suite.runtime != "" {
		if suite.runtime, err = filepath.Abs(suite.runtime); err != nil {
			return err
		}
	} else {
		suite.runtime = filepath.Join(dir, "quilt")
		if err := testbuild.Build(root, goBin, testbuild.QuiltEnv(), append(testbuild.QuiltFlags(), "-o", suite.runtime, "./cmd/quilt")...); err != nil {
			return fmt.Errorf("build quilt: %w", err)
		}
	}
	pause := filepath.Join(dir, "pause")
	if err := testbuild.Build(root, goBin, []string{"CGO_ENABLED=0"}, "-trimpath", "-o", pause, "./integration/clients/pause"); err != nil {
		return fmt.Errorf("build pause: %w", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox: %w (install Debian's busybox-static)", err)
	}
	if err := testbuild.CheckStatic(busybox); err != nil {
		return err
	}
	suite.busyboxImage = filepath.Join(dir, "busybox.tar")
	if err := writeBusyboxImage(suite.busyboxImage, busybox); err != nil {
		return fmt.Errorf("busybox image: %w", err)
	}
	suite.pauseImage = filepath.Join(dir, "pause.tar")
	if err := writePauseImage(suite.pauseImage, pause); err != nil {
		return fmt.Errorf("pause image: %w", err)
	}
	return nil
}

// needSuite skips without root or with -short, and fails when the setup
// failed.
func needSuite(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the client tests need root")
	}
	if testing.Short() {
		t.Skip("the client tests run real containers; skipped with -short")
	}
	if suite.setupErr != nil {
		t.Fatalf("setup: %v", suite.setupErr)
	}
}

// needBinaries skips the test when a client binary is not installed, and
// returns their paths.
func needBinaries(t *testing.T, names ...string) map[string]string {
	t.Helper()
	paths := make(map[string]string, len(names))
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			t.Skipf("%s is not installed: %v", n, err)
		}
		paths[n] = p
	}
	return paths
}
