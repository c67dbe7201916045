// Command testinit is the process that the integration tests run inside
// their containers. It is built statically (CGO_ENABLED=0) into each test
// rootfs, so a test needs no image: one subcommand reports what the process
// sees (cwd, hostname, ids, capabilities, rlimits, terminals) or does one
// thing (allocate memory, fork, write a file, wait for a signal).
//
// Reports go to stdout, one "key=value" or plain line each; failures go to
// stderr with exit status 1. Usage errors exit with status 2.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// command is one subcommand: its handler and a usage line.
type command struct {
	run   func(args []string) error
	usage string
}

// commands maps a subcommand's name to it; set in init because usage reads it.
var commands map[string]command

func init() {
	commands = map[string]command{
		"cwd":      {cwd, "cwd: print the working directory"},
		"hostname": {hostname, "hostname: print the hostname"},
		"env":      {env, "env: print the environment, one variable a line"},
		"id":       {id, "id: print uid=, gid=, groups= (sorted, comma separated)"},
		"caps":     {caps, "caps: print the Cap* lines of /proc/self/status"},
		"rlimits":  {rlimits, "rlimits [PID]: print RLIMIT_NAME SOFT HARD of PID (Go raises its own soft NOFILE)"},
		"isatty":   {isatty, "isatty: print stdin=tty|notty stdout=tty|notty"},
		"alloc":    {alloc, "alloc N: allocate and touch N MiB, print allocated=N, sleep"},
		"forks":    {forks, "forks N: start N sleeping children, print forked=K"},
		"sleep":    {sleep, "sleep [SECONDS]: sleep (forever without SECONDS)"},
		"write":    {write, "write PATH: create PATH and write to it"},
		"chown":    {chown, "chown PATH UID GID: change the owner of PATH"},
		"exit":     {exit, "exit N: exit with status N"},
		"pause":    {pause, "pause: print ready, then print each signal received"},
		"trap":     {trap, "trap N: print ready, exit N after SIGTERM"},
		"fdread":   {fdread, "fdread FD: print what can be read from FD (the Go runtime itself may hold fd 3)"},
		"keyring":  {keyring, "keyring: print the serial of the session keyring"},
		"echo":     {echo, "echo ARGS...: print ARGS"},
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		usage()
	}
	if err := c.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "testinit %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	var lines []string
	for _, c := range commands {
		lines = append(lines, "  "+c.usage)
	}
	sort.Strings(lines)
	fmt.Fprintf(os.Stderr, "usage: testinit COMMAND [ARGS]\n%s\n", strings.Join(lines, "\n"))
	os.Exit(2)
}

// intArg parses args[i] as an integer, or exits with a usage error.
func intArg(args []string, i int) int {
	if i >= len(args) {
		usage()
	}
	n, err := strconv.Atoi(args[i])
	if err != nil {
		usage()
	}
	return n
}

func cwd([]string) error {
	d, err := os.Getwd()
	if err != nil {
		return err
	}
	fmt.Println(d)
	return nil
}

func hostname([]string) error {
	h, err := os.Hostname()
	if err != nil {
		return err
	}
	fmt.Println(h)
	return nil
}

func env([]string) error {
	for _, e := range os.Environ() {
		fmt.Println(e)
	}
	return nil
}

func id([]string) error {
	groups, err := unix.Getgroups()
	if err != nil {
		return err
	}
	sort.Ints(groups)
	var gs []string
	for _, g := range groups {
		gs = append(gs, strconv.Itoa(g))
	}
	fmt.Printf("uid=%d gid=%d groups=%s\n", unix.Getuid(), unix.Getgid(), strings.Join(gs, ","))
	return nil
}

func caps([]string) error {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.HasPrefix(k, "Cap") {
			fmt.Printf("%s=%s\n", k, strings.TrimSpace(v))
		}
	}
	return s.Err()
}

var resources = []struct {
	name string
	res  int
}{
	{"AS", unix.RLIMIT_AS}, {"CORE", unix.RLIMIT_CORE}, {"CPU", unix.RLIMIT_CPU},
	{"DATA", unix.RLIMIT_DATA}, {"FSIZE", unix.RLIMIT_FSIZE}, {"MEMLOCK", unix.RLIMIT_MEMLOCK},
	{"NOFILE", unix.RLIMIT_NOFILE}, {"NPROC", unix.RLIMIT_NPROC}, {"STACK", unix.RLIMIT_STACK},
}

func rlimits(args []string) error {
	pid := 0
	if len(args) > 0 {
		pid = intArg(args, 0)
	}
	for _, r := range resources {
		var l unix.Rlimit
		if err := unix.Prlimit(pid, r.res, nil, &l); err != nil {
			return fmt.Errorf("RLIMIT_%s: %w", r.name, err)
		}
		fmt.Printf("RLIMIT_%s %d %d\n", r.name, l.Cur, l.Max)
	}
	return nil
}

func isatty([]string) error {
	word := func(fd int) string {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
			return "notty"
		}
		return "tty"
	}
	fmt.Printf("stdin=%s stdout=%s\n", word(0), word(1))
	return nil
}

func alloc(args []string) error {
	n := intArg(args, 0)
	b := make([]byte, n<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	fmt.Printf("allocated=%d\n", n)
	select {}
}

// forks starts busybox sleeps rather than copies of itself: each Go process
// has several threads, and a pids limit counts threads.
func forks(args []string) error {
	n := intArg(args, 0)
	k := 0
	var lastErr error
	for range n {
		if _, err := syscall.ForkExec("/bin/busybox", []string{"sleep", "60"}, nil); err != nil {
			lastErr = err
			continue
		}
		k++
	}
	fmt.Printf("forked=%d\n", k)
	if lastErr != nil {
		fmt.Printf("error=%v\n", lastErr)
	}
	return nil
}

func sleep(args []string) error {
	if len(args) == 0 {
		for {
			// Not select{}: with no other goroutine the Go runtime
			// would report a deadlock and exit.
			time.Sleep(time.Hour)
		}
	}
	time.Sleep(time.Duration(intArg(args, 0)) * time.Second)
	return nil
}

func write(args []string) error {
	if len(args) != 1 {
		usage()
	}
	if err := os.WriteFile(args[0], []byte("testinit\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", args[0])
	return nil
}

func chown(args []string) error {
	if len(args) != 3 {
		usage()
	}
	if err := os.Chown(args[0], intArg(args, 1), intArg(args, 2)); err != nil {
		return err
	}
	fmt.Printf("chowned %s\n", args[0])
	return nil
}

func exit(args []string) error {
	os.Exit(intArg(args, 0))
	return nil
}

func pause([]string) error {
	c := make(chan os.Signal, 8)
	signal.Notify(c)
	fmt.Println("ready")
	for s := range c {
		if s == syscall.SIGURG { // the Go runtime's own preemption signal
			continue
		}
		fmt.Printf("signal=%s\n", unix.SignalName(s.(syscall.Signal)))
	}
	return nil
}

func trap(args []string) error {
	code := intArg(args, 0)
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Println("ready")
	<-c
	fmt.Println("got SIGTERM")
	os.Exit(code)
	return nil
}

func fdread(args []string) error {
	f := os.NewFile(uintptr(intArg(args, 0)), "fd")
	if _, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil {
		return fmt.Errorf("fd %s: %w", args[0], err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	fmt.Printf("read=%s\n", strings.TrimSpace(string(b)))
	return nil
}

func keyring([]string) error {
	serial, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	if err != nil {
		return err
	}
	fmt.Printf("session=%d\n", serial)
	return nil
}

func echo(args []string) error {
	fmt.Println(strings.Join(args, " "))
	return nil
}
