package libquilt

import (
	"os"
	"runtime/debug"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	// nsenter's constructor joins namespaces in the init process before
	// the Go runtime starts.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	// Registers the device-rules manager of cgroups v1 and v2 (eBPF).
	_ "github.com/opencontainers/cgroups/devices"
)

// InitArg is the argument with which libcontainer re-executes the runtime
// binary as a container's init process.
const InitArg = "init"

// IsInit reports whether this process was started as a container's init.
func IsInit() bool { return len(os.Args) > 1 && os.Args[1] == InitArg }

// Init runs the container's init process. It does not return. The process
// lives only until it executes the container's program, so garbage
// collection would be wasted work.
func Init() {
	debug.SetGCPercent(-1)
	libcontainer.Init()
}

// withInitGOMAXPROCS runs start, which starts a container's init process,
// with GOMAXPROCS=1 in this process's environment when oneProc is set and
// the variable is not (see Options.OneProcInit).
func withInitGOMAXPROCS(oneProc bool, start func() error) error {
	if !oneProc {
		return start()
	}
	if _, set := os.LookupEnv(gomaxprocs); set {
		return start()
	}
	if err := os.Setenv(gomaxprocs, "1"); err != nil {
		return start()
	}
	defer os.Unsetenv(gomaxprocs)
	return start()
}

const gomaxprocs = "GOMAXPROCS"

// withOwnEnv returns hooks, with this process's environment given to each
// hook that would inherit it, so that it does not see GOMAXPROCS set by
// withInitGOMAXPROCS.
func withOwnEnv(hooks []specs.Hook) []specs.Hook {
	out := append([]specs.Hook(nil), hooks...)
	for i := range out {
		if out[i].Env == nil {
			out[i].Env = os.Environ()
		}
	}
	return out
}

// SeccompVersion returns the version of the linked libseccomp, or zeros
// when Quilt was built without seccomp support.
func SeccompVersion() (major, minor, micro uint) { return seccomp.Version() }

// SeccompEnabled reports whether seccomp support is compiled in.
const SeccompEnabled = seccomp.Enabled
