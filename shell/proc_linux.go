package shell

import (
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"mvdan.cc/sh/v3/interp"
)

// sleep duration... (seconds, or with a suffix s, m, h, d; "infinity")
func sleep(c *call, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing operand: %w", ErrUsage)
	}
	var total time.Duration
	forever := false
	for _, a := range args {
		if a == "inf" || a == "infinity" {
			forever = true
			continue
		}
		unit := time.Second
		num := a
		if n := len(a); n > 0 {
			switch a[n-1] {
			case 's':
				num = a[:n-1]
			case 'm':
				unit, num = time.Minute, a[:n-1]
			case 'h':
				unit, num = time.Hour, a[:n-1]
			case 'd':
				unit, num = 24*time.Hour, a[:n-1]
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("invalid time interval '%s': %w", a, ErrUsage)
		}
		total += time.Duration(f * float64(unit))
	}
	var wake <-chan time.Time
	if !forever {
		t := time.NewTimer(total)
		defer t.Stop()
		wake = t.C
	}
	select {
	case <-c.ctx.Done():
		return interp.ExitStatus(130)
	case <-wake:
		return nil
	}
}

// kill [-s sig | -sig | -n num] pid... | kill -l [status]
func kill(c *call, args []string) error {
	sig := syscall.SIGTERM
	if len(args) > 0 && (args[0] == "-l" || args[0] == "-L") {
		return killList(c, args[1:])
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "--" {
		spec := args[0][1:]
		args = args[1:]
		if spec == "s" || spec == "n" {
			if len(args) == 0 {
				return fmt.Errorf("option -%s needs a signal: %w", spec, ErrUsage)
			}
			spec, args = args[0], args[1:]
		}
		s, ok := parseSignal(spec)
		if !ok {
			return fmt.Errorf("invalid signal '%s': %w", spec, ErrUsage)
		}
		sig = s
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return fmt.Errorf("missing process id: %w", ErrUsage)
	}
	for _, a := range args {
		pid, err := strconv.Atoi(a)
		if err != nil {
			// interp runs background jobs in-process; $! is "g1", not a pid.
			c.warnf("%s: not a process id (job control %v)", a, ErrUnsupported)
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil {
			c.warnf("(%d): %s", pid, errnoText(err))
		}
	}
	return nil
}

func killList(c *call, args []string) error {
	if len(args) == 0 {
		var names []string
		for n := 1; n < 65; n++ {
			if name := unix.SignalName(syscall.Signal(n)); name != "" {
				names = append(names, strings.TrimPrefix(name, "SIG"))
			}
		}
		fmt.Fprintln(c.stdout, strings.Join(names, " "))
		return nil
	}
	for _, a := range args {
		if n, err := strconv.Atoi(a); err == nil {
			if n > 128 {
				n -= 128
			}
			name := unix.SignalName(syscall.Signal(n))
			if name == "" {
				c.warnf("%s: invalid signal number", a)
				continue
			}
			fmt.Fprintln(c.stdout, strings.TrimPrefix(name, "SIG"))
			continue
		}
		s, ok := parseSignal(a)
		if !ok {
			c.warnf("%s: invalid signal name", a)
			continue
		}
		fmt.Fprintln(c.stdout, int(s))
	}
	return nil
}

// parseSignal accepts "TERM", "SIGTERM", "term" and "15".
func parseSignal(s string) (syscall.Signal, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return syscall.Signal(n), n >= 0 && n < 65
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	return sig, sig != 0
}

// uname [-asnrvmo]
func uname(c *call, args []string) error {
	o, ops, err := getopt(args, "asnrvmpio", "")
	if err != nil {
		return err
	}
	if len(ops) > 0 {
		return fmt.Errorf("extra operand '%s': %w", ops[0], ErrUsage)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err
	}
	fields := []struct {
		flag byte
		val  []byte
	}{
		{'s', u.Sysname[:]}, {'n', u.Nodename[:]}, {'r', u.Release[:]},
		{'v', u.Version[:]}, {'m', u.Machine[:]},
	}
	var out []string
	for _, f := range fields {
		if o.has(f.flag) || o.has('a') || (f.flag == 's' && len(o.set) == 0) {
			out = append(out, unix.ByteSliceToString(f.val))
		}
	}
	if o.has('o') || o.has('a') {
		out = append(out, "Linux")
	}
	fmt.Fprintln(c.stdout, strings.Join(out, " "))
	return nil
}

// id [-u|-g|-G] [-n] [-r] [user]
func id(c *call, args []string) error {
	o, ops, err := getopt(args, "ugGnr", "")
	if err != nil {
		return err
	}
	uid, gid := unix.Geteuid(), unix.Getegid()
	if o.has('r') {
		uid, gid = unix.Getuid(), unix.Getgid()
	}
	groups, _ := unix.Getgroups()
	if len(ops) > 0 {
		u, err := user.Lookup(ops[0])
		if err != nil {
			if u, err = user.LookupId(ops[0]); err != nil {
				return fmt.Errorf("'%s': no such user", ops[0])
			}
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		groups = nil
		if ids, err := u.GroupIds(); err == nil {
			for _, g := range ids {
				n, _ := strconv.Atoi(g)
				groups = append(groups, n)
			}
		}
	}
	uname := func(n int) string {
		if u, err := user.LookupId(strconv.Itoa(n)); err == nil {
			return u.Username
		}
		return ""
	}
	gname := func(n int) string {
		if g, err := user.LookupGroupId(strconv.Itoa(n)); err == nil {
			return g.Name
		}
		return ""
	}
	one := func(n int, name func(int) string) string {
		if s := name(n); o.has('n') && s != "" {
			return s
		}
		return strconv.Itoa(n)
	}
	withName := func(n int, name func(int) string) string {
		if s := name(n); s != "" {
			return fmt.Sprintf("%d(%s)", n, s)
		}
		return strconv.Itoa(n)
	}
	if !slices.Contains(groups, gid) {
		groups = append([]int{gid}, groups...)
	}
	switch {
	case o.has('u'):
		fmt.Fprintln(c.stdout, one(uid, uname))
	case o.has('g'):
		fmt.Fprintln(c.stdout, one(gid, gname))
	case o.has('G'):
		var out []string
		for _, g := range groups {
			out = append(out, one(g, gname))
		}
		fmt.Fprintln(c.stdout, strings.Join(out, " "))
	default:
		var out []string
		for _, g := range groups {
			out = append(out, withName(g, gname))
		}
		fmt.Fprintf(c.stdout, "uid=%s gid=%s groups=%s\n", withName(uid, uname), withName(gid, gname), strings.Join(out, ","))
	}
	return nil
}
