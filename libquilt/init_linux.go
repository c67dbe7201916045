package libquilt

import (
	"os"
	"runtime/debug"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/seccomp"

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

// SeccompVersion returns the version of the linked libseccomp, or zeros
// when Quilt was built without seccomp support.
func SeccompVersion() (major, minor, micro uint) { return seccomp.Version() }

// SeccompEnabled reports whether seccomp support is compiled in.
const SeccompEnabled = seccomp.Enabled
