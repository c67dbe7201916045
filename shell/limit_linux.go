package shell

import (
	"fmt"
	"math"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// umask [-S] [mode]
func umask(c *call, args []string) error {
	o, ops, err := getopt(args, "S", "")
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		mask := currentUmask()
		if o.has('S') {
			perm := 0o777 &^ mask
			fmt.Fprintf(c.stdout, "u=%s,g=%s,o=%s\n", rwx(perm>>6), rwx(perm>>3), rwx(perm))
		} else {
			fmt.Fprintf(c.stdout, "%04o\n", mask)
		}
		return nil
	}
	// A symbolic mode says which permissions to allow, the complement of
	// the mask; an octal one is the mask itself.
	old := currentUmask()
	perm, err := parseMode(ops[0], 0o777&^old, true, 0)
	if err != nil {
		return err
	}
	mask := 0o777 &^ perm
	if v, err := strconv.ParseUint(ops[0], 8, 32); err == nil {
		mask = uint32(v)
	}
	unix.Umask(int(mask & 0o777))
	return nil
}

func rwx(bits uint32) string {
	s := ""
	for i, ch := range "rwx" {
		if bits&(4>>i) != 0 {
			s += string(ch)
		}
	}
	return s
}

// limit is one resource that ulimit knows.
type limit struct {
	flag     byte
	resource int
	unit     uint64 // bytes per unit shown, 1 for counts
	name     string
}

var limits = []limit{
	{'c', unix.RLIMIT_CORE, 512, "core file size (blocks)"},
	{'d', unix.RLIMIT_DATA, 1024, "data seg size (kbytes)"},
	{'e', unix.RLIMIT_NICE, 1, "scheduling priority"},
	{'f', unix.RLIMIT_FSIZE, 512, "file size (blocks)"},
	{'i', unix.RLIMIT_SIGPENDING, 1, "pending signals"},
	{'l', unix.RLIMIT_MEMLOCK, 1024, "max locked memory (kbytes)"},
	{'m', unix.RLIMIT_RSS, 1024, "max memory size (kbytes)"},
	{'n', unix.RLIMIT_NOFILE, 1, "open files"},
	{'q', unix.RLIMIT_MSGQUEUE, 1, "POSIX message queues (bytes)"},
	{'r', unix.RLIMIT_RTPRIO, 1, "real-time priority"},
	{'s', unix.RLIMIT_STACK, 1024, "stack size (kbytes)"},
	{'t', unix.RLIMIT_CPU, 1, "cpu time (seconds)"},
	{'u', unix.RLIMIT_NPROC, 1, "max user processes"},
	{'v', unix.RLIMIT_AS, 1024, "virtual memory (kbytes)"},
	{'x', unix.RLIMIT_LOCKS, 1, "file locks"},
}

// ulimit [-H|-S] [-a | -cdefilmnqrstuvx] [limit]
//
// Without -H or -S a new limit sets both, and the soft limit is shown.
// It uses syscall.Setrlimit, which also tells the Go runtime to stop
// restoring its own idea of the original RLIMIT_NOFILE in children.
//
// The Go runtime raises its own soft RLIMIT_NOFILE to hard-1 at start and
// gives children the original back, so before a `ulimit -n N` quilt-sh
// shows its raised value where children have the original one.
func ulimit(c *call, args []string) error {
	flags := "HSa"
	for _, l := range limits {
		flags += string(l.flag)
	}
	o, ops, err := getopt(args, flags, "")
	if err != nil {
		return err
	}
	var chosen []limit
	for _, l := range limits {
		if o.has(l.flag) || o.has('a') {
			chosen = append(chosen, l)
		}
	}
	if len(chosen) == 0 {
		chosen = []limit{limits[3]} // -f
	}
	hard, soft := o.has('H'), o.has('S') || !o.has('H')
	if len(ops) > 0 {
		if len(chosen) != 1 || o.has('a') {
			return fmt.Errorf("set one limit at a time: %w", ErrUsage)
		}
		return setLimit(chosen[0], ops[0], hard || !o.has('S'), soft)
	}
	for _, l := range chosen {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(l.resource, &rl); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		v := rl.Cur
		if hard && !o.has('S') {
			v = rl.Max
		}
		if len(chosen) > 1 {
			fmt.Fprintf(c.stdout, "%-32s (-%c) %s\n", l.name, l.flag, showLimit(v, l.unit))
		} else {
			fmt.Fprintln(c.stdout, showLimit(v, l.unit))
		}
	}
	return nil
}

func showLimit(v, unit uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v/unit, 10)
}

func setLimit(l limit, value string, hard, soft bool) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(l.resource, &rl); err != nil {
		return fmt.Errorf("%s: %w", l.name, err)
	}
	var v uint64
	switch value {
	case "unlimited", "infinity":
		v = unix.RLIM_INFINITY
	case "hard":
		v = rl.Max
	case "soft":
		v = rl.Cur
	default:
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || n > math.MaxUint64/l.unit {
			return fmt.Errorf("%s: invalid number: %w", value, ErrUsage)
		}
		v = n * l.unit
	}
	if hard {
		rl.Max = v
	}
	if soft {
		rl.Cur = v
	}
	if err := syscall.Setrlimit(l.resource, &rl); err != nil {
		return fmt.Errorf("%s: cannot modify limit: %s", l.name, errnoText(err))
	}
	return nil
}
