package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ctrNamespace is the containerd namespace of the harness's containers;
// containerd also names their cgroups /ctrNamespace/ID after it.
const ctrNamespace = "quilt-bench"

// setupQuilt starts a private quiltd (socket, root, state and cgroup
// parent of its own) and imports the image.
func (b *bench) setupQuilt() error {
	bin, err := filepath.Abs(b.opts.Bin)
	if err != nil {
		return fmt.Errorf("-bin: %w", err)
	}
	t, err := newTool("quiltctl", filepath.Join(bin, "quiltctl"), b.dir, b.opts.Timeout)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.dir, "quiltd")
	sock := filepath.Join(dir, "quiltd.sock")
	t.args, t.note, b.quiltSock = []string{"--address", sock}, "private quiltd", sock
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("quiltd directory: %w", err)
	}
	b.quiltd, err = startDaemon(filepath.Join(dir, "quiltd.log"), t, filepath.Join(bin, "quiltd"),
		"--address", sock, "--root", filepath.Join(dir, "root"), "--state", filepath.Join(dir, "state"),
		"--cgroup-parent", b.cgroup[1:]+"/quiltd", "--init", filepath.Join(bin, "quilt-init"),
		"--quilt-sh", filepath.Join(bin, "quilt-sh"))
	if err != nil {
		return err
	}
	b.tools[quiltIdx] = t
	_, _, err = t.do("import", "--name", imageRef, b.image)
	return err
}

// setupCtr uses the containerd at -containerd-address when it answers, or
// else starts a private one (root, state and sockets of its own, no CRI
// plugin), and imports the image into the harness's namespace.
func (b *bench) setupCtr() error {
	t, err := newTool("ctr", b.opts.Ctr, b.dir, b.opts.Timeout)
	if err != nil {
		return err
	}
	t.args, t.note = []string{"-a", b.opts.ContainerdAddress, "-n", ctrNamespace}, "containerd at "+b.opts.ContainerdAddress
	if _, _, err := t.do("version"); err != nil {
		dir := filepath.Join(b.dir, "containerd")
		sock, cfg := filepath.Join(dir, "containerd.sock"), filepath.Join(b.dir, "containerd.toml")
		config := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"+
			"[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = %q\n",
			filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc", filepath.Join(dir, "opt"))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("containerd directory: %w", err)
		}
		if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
			return fmt.Errorf("containerd config: %w", err)
		}
		t.args, t.note = []string{"-a", sock, "-n", ctrNamespace}, "private containerd"
		if b.containerd, err = startDaemon(filepath.Join(dir, "containerd.log"), t, b.opts.Containerd, "--config", cfg); err != nil {
			return err
		}
	}
	if out, _, err := t.do("version"); err == nil {
		if _, v, ok := strings.Cut(out[strings.Index(out, "Server:")+1:], "Version:"); ok {
			t.note += " " + strings.Fields(v)[0]
		}
	}
	b.tools[ctrIdx] = t
	_, _, err = t.do("images", "import", b.image)
	return err
}

// setupPodman gives podman a configuration and storage of its own (overlay
// storage, cgroupfs, runc, no network, no registry), and loads the image.
func (b *bench) setupPodman() error {
	t, err := newTool("podman", b.opts.Podman, b.dir, b.opts.Timeout)
	if err != nil {
		return err
	}
	p := func(s string) string { return filepath.Join(b.dir, "podman", s) }
	for _, d := range []string{"tmp", "libpod-tmp", "volumes", "networks"} {
		if err := os.MkdirAll(p(d), 0o700); err != nil {
			return fmt.Errorf("podman directory: %w", err)
		}
	}
	// podman asks for RLIMIT_NOFILE and RLIMIT_NPROC above the inherited
	// hard limits by default, which needs CAP_SYS_RESOURCE: ask for those
	// (podman 4.3 lowers its own RLIMIT_NPROC to 32768).
	nofile, nproc := hardLimit(syscall.RLIMIT_NOFILE, 1<<20), hardLimit(rlimitNproc, 32768)
	files := map[string]string{
		"containers.conf": fmt.Sprintf("[containers]\nnetns = \"none\"\nlog_driver = \"k8s-file\"\n"+
			"default_ulimits = [\"nofile=%d:%d\", \"nproc=%d:%d\"]\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\n"+
			"events_logger = \"file\"\nevents_logfile_path = %q\ntmp_dir = %q\nvolume_path = %q\n[network]\nnetwork_config_dir = %q\n",
			nofile, nofile, nproc, nproc, p("events.log"), p("libpod-tmp"), p("volumes"), p("networks")),
		"storage.conf":    fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n", p("storage"), p("run")),
		"registries.conf": "unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n",
	}
	for name, text := range files {
		if err := os.WriteFile(p(name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("podman config: %w", err)
		}
	}
	t.args = []string{"--root", p("storage"), "--runroot", p("run"), "--tmpdir", p("libpod-tmp"),
		"--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--network-config-dir", p("networks"), "--volumepath", p("volumes")}
	t.env = []string{"CONTAINERS_CONF=" + p("containers.conf"), "CONTAINERS_STORAGE_CONF=" + p("storage.conf"),
		"CONTAINERS_REGISTRIES_CONF=" + p("registries.conf"), "TMPDIR=" + p("tmp")}
	b.tools[podmanIdx], t.note = t, "private storage, runc"
	_, _, err = t.do("load", "-i", b.image)
	return err
}

// rlimitNproc is RLIMIT_NPROC, which package syscall does not name.
const rlimitNproc = 6

// hardLimit returns the harness's hard limit of resource, at most most.
func hardLimit(resource int, most uint64) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(resource, &l); err != nil || l.Max > most {
		return most
	}
	return l.Max
}

// cleanup removes every container and image the tools hold, stops the
// daemons the harness started, then removes what is left on the host:
// the harness's cgroups, mounts below its directory, the directory, and
// the global directories the tools created.
func (b *bench) cleanup() error {
	var errs []error
	try := func(t *tool, args ...string) string {
		out, _, err := t.do(args...)
		errs = append(errs, err)
		return out
	}
	if t := b.tools[quiltIdx]; t != nil {
		if ids := strings.Fields(try(t, "ps", "-aq")); len(ids) > 0 {
			try(t, append([]string{"rm", "-f"}, ids...)...)
		}
	}
	if t := b.tools[ctrIdx]; t != nil {
		for _, id := range strings.Fields(try(t, "task", "ls", "-q")) {
			try(t, "task", "delete", "--force", id)
		}
		for _, id := range strings.Fields(try(t, "container", "ls", "-q")) {
			try(t, "container", "delete", id)
		}
		try(t, "images", "rm", imageRef)
		if b.containerd == nil {
			try(t, "namespaces", "rm", ctrNamespace)
		}
	}
	if t := b.tools[podmanIdx]; t != nil {
		try(t, "rm", "-af", "-t", "0")
		try(t, "rmi", "-af")
	}
	for _, d := range []*daemonProc{b.quiltd, b.containerd} {
		if d != nil {
			errs = append(errs, d.stop())
		}
	}
	errs = append(errs, removeCgroups(b.cgroup, "/"+ctrNamespace))
	if b.dir != "" {
		errs = append(errs, unmountBelow(b.dir))
		if err := os.RemoveAll(b.dir); err != nil {
			errs = append(errs, fmt.Errorf("temp directory: %w", err))
		}
	}
	for _, d := range slices.Backward(b.absentDirs) {
		_ = os.Remove(d) // only when empty
	}
	return errors.Join(errs...)
}
