// Command quilt-init is the PID 1 of quiltd's containers:
//
//	quilt-init [--user UID:GID[:G1,G2...]] [--seccomp] -- CMD [ARG...]
//
// With --seccomp it first loads the seccomp filter on fd 6 into itself, so
// that CMD and every process exec'd later run under it. It runs CMD as the
// given user with stdin /dev/null, logs its stdout and
// stderr to the log file on fd 3, reaps every child, forwards signals to
// CMD, serves exec requests on the socket on fd 5 (if open) and, when CMD
// exits, writes its exit status to fd 4 and exits with its code. The
// behaviour lives in package initproto; this file parses the command line.
// It avoids fmt and flag so that the binary, which every container maps,
// stays small.
package main

import (
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/daemon/initproto"
)

const usage = "usage: quilt-init [--user UID:GID[:G1,G2...]] [--seccomp] -- CMD [ARG...]\n"

// exitUsage is the exit code for a command line or an inherited fd that
// quilt-init cannot work with (docker's code for a failed runtime).
const exitUsage = 125

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cred, cmd, withSeccomp, err := parseArgs(args)
	if err != nil {
		os.Stderr.WriteString("quilt-init: " + err.Error() + "\n" + usage)
		return exitUsage
	}
	// No inherited fd may reach a child: fds 3, 4 and 5 are quilt-init's
	// and anything else leaked from quiltd is nobody's.
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		for _, fd := range []int{initproto.LogFD, initproto.StatusFD, initproto.AgentFD, initproto.SeccompFD} {
			unix.CloseOnExec(fd)
		}
	}
	log, err := inherited(initproto.LogFD, "log")
	if err != nil {
		os.Stderr.WriteString("quilt-init: " + err.Error() + "\n")
		return exitUsage
	}
	status, err := inherited(initproto.StatusFD, "exit-status")
	if err != nil {
		os.Stderr.WriteString("quilt-init: " + err.Error() + "\n")
		return exitUsage
	}
	var filter *os.File
	if withSeccomp {
		if filter, err = inherited(initproto.SeccompFD, "seccomp filter"); err != nil {
			os.Stderr.WriteString("quilt-init: " + err.Error() + "\n")
			return exitUsage
		}
	}
	return initproto.Run(initproto.Options{
		Args:       cmd,
		Credential: cred,
		Log:        log,
		Status:     status,
		Agent:      initproto.OpenAgent(initproto.AgentFD),
		Seccomp:    filter,
	})
}

// inherited returns the open fd as a file.
func inherited(fd int, what string) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, errors.New(what + " file (fd " + strconv.Itoa(fd) + "): " + err.Error())
	}
	return os.NewFile(uintptr(fd), what), nil
}

// parseArgs parses [--user UID:GID[:G1,G2...]] [--seccomp] -- CMD [ARG...]:
// the user, the command and whether to load the seccomp filter on
// SeccompFD.
func parseArgs(args []string) (*syscall.Credential, []string, bool, error) {
	var cred *syscall.Credential
	withSeccomp := false
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			args = args[1:]
			if len(args) == 0 {
				return nil, nil, false, errors.New("no command after --")
			}
			return cred, args, withSeccomp, nil
		case a == "--seccomp" || a == "-seccomp":
			withSeccomp = true
			args = args[1:]
		case a == "--user" || a == "-user":
			if len(args) < 2 {
				return nil, nil, false, errors.New("--user needs UID:GID")
			}
			args = args[1:]
			a = "--user=" + args[0]
			fallthrough
		case strings.HasPrefix(a, "--user="):
			c, err := parseUser(strings.TrimPrefix(a, "--user="))
			if err != nil {
				return nil, nil, false, err
			}
			cred = c
			args = args[1:]
		case a == "-h" || a == "--help":
			return nil, nil, false, errors.New("help requested")
		case strings.HasPrefix(a, "-"):
			return nil, nil, false, errors.New("unknown option " + strconv.Quote(a))
		default:
			return cred, args, withSeccomp, nil
		}
	}
	return nil, nil, false, errors.New("no command")
}

// parseUser parses UID:GID[:G1,G2...], all numeric.
func parseUser(s string) (*syscall.Credential, error) {
	bad := errors.New("--user " + strconv.Quote(s) + ": want UID:GID[:G1,G2...], numeric")
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, bad
	}
	uid, err1 := strconv.ParseUint(parts[0], 10, 32)
	gid, err2 := strconv.ParseUint(parts[1], 10, 32)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	if len(parts) == 3 && parts[2] != "" {
		for g := range strings.SplitSeq(parts[2], ",") {
			n, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil, bad
			}
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}
