package shell

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Mode says what a quilt-sh process does.
type Mode int

// The modes of a quilt-sh process.
const (
	ModeCommand Mode = iota // sh -c CMD [NAME [ARGS...]]
	ModeFile                // sh FILE [ARGS...]
	ModeStdin               // sh [-s] [ARGS...]: commands from stdin
	ModeUtility             // a built-in utility, by argv[0] or `quilt-sh UTIL`
	ModeList                // quilt-sh --list: print the utilities
)

// Invocation is a parsed quilt-sh command line.
type Invocation struct {
	Mode Mode
	// Utility is the utility to run in ModeUtility.
	Utility string
	// Flags are the set(1) options to apply, such as "-e" or "-o" "pipefail".
	Flags []string
	// Command is the -c string; File the script.
	Command, File string
	// Name is $0 (ModeCommand only; empty for the default).
	Name string
	// Args are the positional parameters, or the utility's arguments.
	Args []string
	// Interactive is -i: prompt and go on after errors even without a TTY.
	Interactive bool
	// Login is -l or an argv[0] that starts with "-".
	Login bool
}

// ParseArgs parses a quilt-sh command line, argv[0] included. The
// basename of argv[0] chooses the program: a built-in utility name (ls,
// env, ...) runs that utility; quilt-sh followed by a utility name runs
// it too; any other name (sh, bash, ash, dash, -sh, quilt-sh) is the
// shell. So a script named like a utility must be run as `quilt-sh ./ls`.
func ParseArgs(argv []string) (Invocation, error) {
	if len(argv) == 0 {
		return Invocation{}, fmt.Errorf("empty command line: %w", ErrUsage)
	}
	base := filepath.Base(argv[0])
	if IsUtility(base) {
		return Invocation{Mode: ModeUtility, Utility: base, Args: argv[1:]}, nil
	}
	args := argv[1:]
	if base == "quilt-sh" && len(args) > 0 {
		if IsUtility(args[0]) {
			return Invocation{Mode: ModeUtility, Utility: args[0], Args: args[1:]}, nil
		}
		if args[0] == "--list" {
			return Invocation{Mode: ModeList}, nil
		}
	}
	inv := Invocation{Mode: ModeStdin, Login: strings.HasPrefix(base, "-")}
	command, stdin := false, false
	for len(args) > 0 {
		a := args[0]
		if a == "--" || a == "-" {
			args = args[1:]
			break
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		if a == "--login" {
			inv.Login = true
			args = args[1:]
			continue
		}
		args = args[1:]
		sign := a[:1]
		for i := 1; i < len(a); i++ {
			switch ch := a[i]; ch {
			case 'c':
				command = sign == "-"
			case 's':
				stdin = sign == "-"
			case 'i':
				inv.Interactive = sign == "-"
			case 'l':
				inv.Login = sign == "-"
			case 'o':
				if len(args) == 0 {
					return inv, fmt.Errorf("option %so needs a name: %w", sign, ErrUsage)
				}
				inv.Flags = append(inv.Flags, sign+"o", args[0])
				args = args[1:]
			case 'e', 'u', 'x', 'f', 'n', 'a', 'v', 'b', 'm', 'h':
				if ch == 'v' || ch == 'b' || ch == 'm' || ch == 'h' {
					continue // accepted and ignored, like dash without job control
				}
				inv.Flags = append(inv.Flags, sign+string(ch))
			default:
				return inv, fmt.Errorf("unknown option %s%c: %w", sign, ch, ErrUsage)
			}
		}
	}
	switch {
	case command:
		if len(args) == 0 {
			return inv, fmt.Errorf("option -c needs a command: %w", ErrUsage)
		}
		inv.Mode, inv.Command, args = ModeCommand, args[0], args[1:]
		if len(args) > 0 {
			inv.Name, args = args[0], args[1:]
		}
	case !stdin && len(args) > 0:
		inv.Mode, inv.File, args = ModeFile, args[0], args[1:]
	}
	inv.Args = args
	return inv, nil
}
