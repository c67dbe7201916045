package libquilt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// applyKernelTCP sets linux.resources.memory.kernelTCP, which libcontainer
// no longer applies, on cgroup v1 hosts that still have the file. It runs
// while the init process waits for start, so the user process never runs
// without it.
func applyKernelTCP(lc *libcontainer.Container, r *specs.LinuxResources) error {
	if r == nil || r.Memory == nil || r.Memory.KernelTCP == nil { //nolint:staticcheck // deprecated, still in the spec
		return nil
	}
	st, err := lc.State()
	if err != nil {
		return err
	}
	dir, ok := st.CgroupPaths["memory"]
	if !ok || dir == "" {
		return nil
	}
	path := filepath.Join(dir, "memory.kmem.tcp.limit_in_bytes")
	value := strconv.FormatInt(*r.Memory.KernelTCP, 10) //nolint:staticcheck
	err = os.WriteFile(path, []byte(value), 0)
	if errors.Is(err, os.ErrNotExist) {
		logrus.WithField("path", path).Debug("kernel has no kmem.tcp accounting: linux.resources.memory.kernelTCP ignored")
		return nil
	}
	if err != nil {
		return fmt.Errorf("linux.resources.memory.kernelTCP: %w", err)
	}
	return nil
}

// orderDeviceRules re-applies the device rules of a cgroup v1 container in
// the order config.json lists them (the runtime-spec requires it), followed
// by the defaults every container gets. libcontainer applies the same set,
// sorted. The init process is blocked on the exec fifo meanwhile.
func orderDeviceRules(lc *libcontainer.Container, r *specs.LinuxResources) error {
	if r == nil || len(r.Devices) < 2 {
		return nil // deny-all alone (or nothing): libcontainer's order is the config's
	}
	config := lc.Config()
	if config.Cgroups == nil || config.Cgroups.Resources == nil || len(config.Cgroups.Resources.Devices) == 0 {
		return nil
	}
	rules := config.Cgroups.Resources.Devices
	if first := rules[0]; first.Allow || first.Type != 'a' {
		return nil // not a whitelist: leave libcontainer's result
	}
	st, err := lc.State()
	if err != nil {
		return err
	}
	dir, ok := st.CgroupPaths["devices"]
	if !ok || dir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "devices.list")); err != nil {
		return nil // cgroup v2: the eBPF program keeps the order
	}
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(r.CgroupString()), 0); err != nil {
			return fmt.Errorf("linux.resources.devices: %s %q: %w", file, r.CgroupString(), err)
		}
	}
	return nil
}
