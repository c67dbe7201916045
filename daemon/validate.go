package daemon

import (
	"path"
	"regexp"
	"strings"
	"sync"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// minMemory is the smallest memory limit a container may have: quilt-init
// and a shell need a few MiB.
const minMemory = 6 << 20

// The patterns are compiled on first use: libcontainer re-executes quiltd
// as each container's init, which should not pay for them.
var (
	nameRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`) })
	hostnameRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	})
)

// validateConfig checks a container configuration before anything is made
// for it. Each error names the field.
func validateConfig(c *quiltv1.ContainerConfig) error {
	if c.Name != "" && !nameRE().MatchString(c.Name) {
		return errorf(ErrInvalid, "invalid container name %q: use 1-128 letters, digits and _ . - starting with a letter or digit", c.Name)
	}
	if c.Shell != "" && len(c.Args) > 0 {
		return errorf(ErrInvalid, "give either a shell command line or a command with arguments, not both")
	}
	if c.Shell != "" && strings.TrimSpace(c.Shell) == "" {
		return errorf(ErrInvalid, "the shell command line is empty")
	}
	for _, a := range append(append([]string(nil), c.Args...), c.Entrypoint...) {
		if strings.ContainsRune(a, 0) {
			return errorf(ErrInvalid, "command argument %q contains a NUL byte", a)
		}
	}
	for _, e := range c.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.ContainsRune(k, 0) {
			return errorf(ErrInvalid, "invalid environment variable %q: use KEY=value", e)
		}
	}
	if c.Workdir != "" && !path.IsAbs(c.Workdir) {
		return errorf(ErrInvalid, "working directory %q must be an absolute path", c.Workdir)
	}
	if c.Hostname != "" && (len(c.Hostname) > 253 || !hostnameRE().MatchString(c.Hostname)) {
		return errorf(ErrInvalid, "invalid hostname %q", c.Hostname)
	}
	if err := validateNetwork(c); err != nil {
		return err
	}
	if err := validateResources(c.Resources); err != nil {
		return err
	}
	for _, m := range c.Mounts {
		if err := validateMount(m); err != nil {
			return err
		}
	}
	for k := range c.Labels {
		if k == "" || strings.ContainsRune(k, 0) {
			return errorf(ErrInvalid, "invalid label key %q", k)
		}
	}
	return nil
}

func validateResources(r *quiltv1.Resources) error {
	if r == nil {
		return nil
	}
	switch {
	case r.Memory < 0:
		return errorf(ErrInvalid, "memory limit %d must not be negative", r.Memory)
	case r.Memory > 0 && r.Memory < minMemory:
		return errorf(ErrInvalid, "memory limit %d bytes is below the minimum of 6 MiB", r.Memory)
	case r.MemorySwap < -1:
		return errorf(ErrInvalid, "memory+swap limit %d must be -1 (unlimited) or positive", r.MemorySwap)
	case r.MemorySwap > 0 && r.Memory == 0:
		return errorf(ErrInvalid, "a memory+swap limit needs a memory limit too")
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		return errorf(ErrInvalid, "memory+swap limit %d must not be below the memory limit %d", r.MemorySwap, r.Memory)
	case r.CpuQuota < 0:
		return errorf(ErrInvalid, "CPU quota %d must not be negative", r.CpuQuota)
	case r.CpuQuota > 0 && r.CpuQuota < 1000:
		return errorf(ErrInvalid, "CPU quota %d µs is below the minimum of 1000 µs", r.CpuQuota)
	case r.CpuPeriod != 0 && (r.CpuPeriod < 1000 || r.CpuPeriod > 1000000):
		return errorf(ErrInvalid, "CPU period %d µs must be between 1000 and 1000000", r.CpuPeriod)
	case r.CpuShares != 0 && (r.CpuShares < 2 || r.CpuShares > 262144):
		return errorf(ErrInvalid, "CPU shares %d must be between 2 and 262144", r.CpuShares)
	case r.PidsLimit < 0:
		return errorf(ErrInvalid, "pids limit %d must not be negative", r.PidsLimit)
	}
	return nil
}

func validateMount(m *quiltv1.Mount) error {
	if !path.IsAbs(m.Destination) || path.Clean(m.Destination) == "/" {
		return errorf(ErrInvalid, "mount destination %q must be an absolute path other than /", m.Destination)
	}
	switch m.Type {
	case "bind":
		if !path.IsAbs(m.Source) {
			return errorf(ErrInvalid, "bind mount source %q must be an absolute path", m.Source)
		}
	case "tmpfs":
		if m.Source != "" {
			return errorf(ErrInvalid, "tmpfs mount on %s takes no source", m.Destination)
		}
	default:
		return errorf(ErrInvalid, "mount on %s: unknown type %q: use bind or tmpfs", m.Destination, m.Type)
	}
	for _, o := range m.Options {
		if strings.ContainsAny(o, ",\x00") {
			return errorf(ErrInvalid, "mount on %s: invalid option %q", m.Destination, o)
		}
	}
	return nil
}
