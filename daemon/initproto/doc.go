// Package initproto is the contract between quiltd and quilt-init, the PID 1
// of every daemon container, and quilt-init's behaviour itself:
//
//   - the file descriptors quilt-init inherits (LogFD, StatusFD, AgentFD);
//   - the exit-status file it writes when its command exits (ExitStatus);
//   - the container log in the CRI format kubelet uses (LogWriter, ReadLog,
//     Tail, Follow);
//   - the exec agent protocol on AgentFD, both sides: the client quiltd uses
//     (Dial, Client.Start, Process) and the server in quilt-init;
//   - PID 1 itself: starting the command, logging, reaping and forwarding
//     signals (Run).
//
// The package depends on the standard library and golang.org/x/sys/unix
// only, and the code quilt-init reaches avoids fmt, reflection and
// encoding/json, because quilt-init links it and every container pays for
// its memory.
package initproto

// The file descriptors quilt-init inherits from quiltd.
const (
	// LogFD is the container's log file, opened O_WRONLY|O_APPEND.
	LogFD = 3
	// StatusFD is the empty exit-status file, opened O_WRONLY.
	StatusFD = 4
	// AgentFD is a listening unix socket for exec requests; it may be absent.
	AgentFD = 5
	// SeccompFD holds the container's seccomp filter (EncodeSeccomp) when
	// quilt-init is started with --seccomp: quilt-init loads it before it
	// starts anything.
	SeccompFD = 6
)

// InitPath is where quilt-init is bind-mounted, read-only, in a container.
const InitPath = "/dev/.quilt-init"

// DefaultPath is the PATH used to look up a command whose environment has
// none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
