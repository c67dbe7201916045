package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/daemon/initproto"
	"github.com/quilt-runtime/quilt/nixfix"
	"github.com/quilt-runtime/quilt/spec/imageconfig"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// command is what a container runs: the image's entrypoint and cmd with
// the configuration's overrides, as `docker run` merges them.
func command(entrypoint, cmd []string, c *quiltv1.ContainerConfig) ([]string, error) {
	switch {
	case c.Shell != "":
		return []string{"/bin/sh", "-c", c.Shell}, nil
	case len(c.Entrypoint) > 0 || c.ClearEntrypoint:
		entrypoint, cmd = c.Entrypoint, nil
	}
	if len(c.Args) > 0 {
		cmd = c.Args
	}
	argv := append(slices.Clone(entrypoint), cmd...)
	if len(argv) == 0 || argv[0] == "" {
		return nil, errorf(ErrInvalid, "no command: the image has no entrypoint or cmd, so give a command (or a shell command line)")
	}
	return argv, nil
}

// userDB reads the image's /etc/passwd and /etc/group inside rootfs.
func userDB(rootfs string) (passwd, group []byte) {
	read := func(name string) []byte {
		p, err := securejoin.SecureJoin(rootfs, name)
		if err != nil {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		data, _ := io.ReadAll(io.LimitReader(f, 4<<20))
		return data
	}
	return read("/etc/passwd"), read("/etc/group")
}

// resolveUser turns "user[:group]" into ids, names looked up in the image.
func resolveUser(rootfs, user string) (specs.User, error) {
	passwd, group := userDB(rootfs)
	u, err := imageconfig.ResolveUser(user, passwd, group)
	if err != nil {
		return u, errorf(ErrInvalid, "user %q: %w", user, err)
	}
	return u, nil
}

// homeOf returns the home directory of uid in the image, "/" when unknown.
func homeOf(rootfs string, uid uint32) string {
	passwd, _ := userDB(rootfs)
	for _, line := range strings.Split(string(passwd), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 6 && f[2] == strconv.FormatUint(uint64(uid), 10) && path.IsAbs(f[5]) {
			return f[5]
		}
	}
	if uid == 0 {
		return "/root"
	}
	return "/"
}

// hasShell reports whether the image has an executable /bin/sh, its links
// resolved inside rootfs.
func hasShell(rootfs string) bool {
	p, err := securejoin.SecureJoin(rootfs, "/bin/sh")
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// userArg formats a user for quilt-init's --user: UID:GID[:G1,G2].
func userArg(u specs.User) string {
	s := fmt.Sprintf("%d:%d", u.UID, u.GID)
	if len(u.AdditionalGids) > 0 {
		gs := make([]string, len(u.AdditionalGids))
		for i, g := range u.AdditionalGids {
			gs[i] = strconv.FormatUint(uint64(g), 10)
		}
		s += ":" + strings.Join(gs, ",")
	}
	return s
}

// mergeEnv sets each KEY=value of add in env, replacing an earlier KEY.
func mergeEnv(env, add []string) []string {
	out := slices.Clone(env)
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

func hasEnv(env []string, key string) bool {
	return slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, key+"=") })
}

// containerSpec adjusts the spec made from the image for a daemon
// container: quilt-init as PID 1 running argv as the user, the
// configuration's environment, mounts, network and limits.
func (d *Daemon) containerSpec(s *specs.Spec, id string, c *quiltv1.ContainerConfig, argv []string, rootfs string, ed *execDefaults) error {
	user := s.Process.User
	if c.User != "" {
		u, err := resolveUser(rootfs, c.User)
		if err != nil {
			return err
		}
		user = u
	}
	env := mergeEnv(s.Process.Env, c.Env)
	if !hasEnv(env, "PATH") {
		env = append(env, "PATH="+defaultPath)
	}
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+homeOf(rootfs, user.UID))
	}
	if c.Hostname != "" {
		s.Hostname = c.Hostname
	} else {
		s.Hostname = id[:12]
	}
	s.Process.Env = env
	s.Process.Terminal = false
	if c.Workdir != "" {
		s.Process.Cwd = c.Workdir
	}
	*ed = execDefaults{Env: env, Cwd: s.Process.Cwd, UID: user.UID, GID: user.GID, Groups: user.AdditionalGids}
	if c.Shell != "" && !hasShell(rootfs) {
		// A command line for an image without a shell: nixfix gives it
		// quilt-sh at /bin/sh.
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[nixfix.AnnotationShell] = string(nixfix.ShellAlways)
	}
	s.Process.Args = append([]string{initproto.InitPath, "--user", userArg(user), "--"}, argv...)
	s.Process.User = specs.User{UID: 0, GID: 0}
	s.Process.Capabilities = defaultCapabilities()
	s.Root.Readonly = c.ReadOnly
	s.Mounts = append(s.Mounts, specs.Mount{
		Destination: initproto.InitPath, Type: "bind", Source: d.initPath,
		Options: []string{"bind", "ro", "nosuid", "nodev"},
	})
	for _, m := range c.Mounts {
		mnt, err := specMount(m)
		if err != nil {
			return err
		}
		s.Mounts = append(s.Mounts, mnt)
	}
	if err := setNetwork(s, c.Network); err != nil {
		return err
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	s.Linux.CgroupsPath = "/" + path.Join(d.cfg.CgroupParent, id)
	profile, err := defaultSeccompProfile()
	if err != nil {
		return err
	}
	s.Linux.Seccomp = profile
	return setResources(s.Linux, c.Resources)
}

// defaultSeccompProfile is Docker's default seccomp profile for the
// capabilities of defaultCapabilities.
func defaultSeccompProfile() (*specs.LinuxSeccomp, error) {
	profile, err := seccomp.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: defaultCapabilities()}})
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return profile, nil
}

// defaultCapabilities are the capabilities Docker gives a container by
// default. quilt-init needs CAP_SETUID and CAP_SETGID to run commands as
// the requested user; a non-root command loses them all on setuid.
func defaultCapabilities() *specs.LinuxCapabilities {
	caps := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
	return &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
}

func specMount(m *quiltv1.Mount) (specs.Mount, error) {
	opts := []string{"nosuid", "nodev"}
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	switch m.Type {
	case "bind":
		if _, err := os.Stat(m.Source); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return specs.Mount{}, errorf(ErrInvalid, "bind mount source %s does not exist on the host", m.Source)
			}
			return specs.Mount{}, errorf(ErrInvalid, "bind mount source %s: %w", m.Source, err)
		}
		return specs.Mount{Destination: path.Clean(m.Destination), Type: "bind", Source: m.Source,
			Options: append(append([]string{"rbind"}, opts...), m.Options...)}, nil
	default:
		return specs.Mount{Destination: path.Clean(m.Destination), Type: "tmpfs", Source: "tmpfs",
			Options: append(append(opts, "mode=1777"), m.Options...)}, nil
	}
}

// setNetwork applies the network mode: "none" keeps the spec's own network
// namespace (loopback only), "host" shares the host's and its resolver
// configuration. A bridge network's namespace is joined later, by
// attachNetwork.
func setNetwork(s *specs.Spec, mode string) error {
	if mode != "host" {
		return nil
	}
	if s.Linux != nil {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
			return n.Type == specs.NetworkNamespace
		})
	}
	for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
		if _, err := os.Stat(f); err == nil {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: f, Type: "bind", Source: f,
				Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}})
		}
	}
	return nil
}

// setResources turns the configuration's limits into linux.resources.
func setResources(l *specs.Linux, r *quiltv1.Resources) error {
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	res := l.Resources
	if r == nil {
		return nil
	}
	if r.Memory > 0 {
		limit := r.Memory
		res.Memory = &specs.LinuxMemory{Limit: &limit}
		if r.MemorySwap != 0 {
			swap := r.MemorySwap
			if swap > 0 && !swapAccounting() {
				return errorf(ErrInvalid, "a memory+swap limit needs swap accounting, which this kernel does not have (boot with swapaccount=1)")
			}
			res.Memory.Swap = &swap
		}
	}
	if r.CpuQuota > 0 || r.CpuShares > 0 {
		res.CPU = &specs.LinuxCPU{}
		if r.CpuQuota > 0 {
			quota, period := r.CpuQuota, r.CpuPeriod
			if period == 0 {
				period = 100000
			}
			res.CPU.Quota, res.CPU.Period = &quota, &period
		}
		if r.CpuShares > 0 {
			shares := r.CpuShares
			res.CPU.Shares = &shares
		}
	}
	if r.PidsLimit > 0 {
		res.Pids = &specs.LinuxPids{Limit: &r.PidsLimit}
	}
	return nil
}

// swapAccounting reports whether memory+swap can be limited: cgroup v2's
// memory.swap.max or v1's memsw files.
func swapAccounting() bool {
	for _, f := range []string{"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "/sys/fs/cgroup/unified/memory.swap.max", "/sys/fs/cgroup/memory.swap.max"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	// On v2 the root cgroup has no memory.swap.max; any child has it when
	// the controller is on.
	data, err := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control")
	return err == nil && strings.Contains(string(data), "memory")
}
