package shell

import (
	"fmt"
	"slices"
	"strings"
)

// envUtil is env(1): env [-i] [-u name]... [name=value]... [command [arg...]]
//
// With a command, env runs it with the changed environment: in a shell,
// as a child (or built-in utility); as quilt-sh's own env (a symlink named
// env, a #!/usr/bin/env line), by execve, so that the command takes over
// the process. Without one, it prints the environment.
func envUtil(c *call, args []string) error {
	env := environ(c.env)
	end := "\n"
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		args = args[1:]
		switch {
		case opt == "--":
		case opt == "-" || opt == "-i" || opt == "--ignore-environment":
			env = nil
		case opt == "-u" || opt == "--unset":
			if len(args) == 0 {
				return fmt.Errorf("option -u needs a name: %w", ErrUsage)
			}
			env = unsetEnv(env, args[0])
			args = args[1:]
		case strings.HasPrefix(opt, "-u"):
			env = unsetEnv(env, opt[2:])
		case opt == "-0", opt == "--null":
			end = "\x00"
		default:
			return fmt.Errorf("unknown option %s: %w", opt, ErrUsage)
		}
		if opt == "--" {
			break
		}
	}
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "=") {
		name, _, _ := strings.Cut(args[0], "=")
		env = append(unsetEnv(env, name), args[0])
		args = args[1:]
	}
	if len(args) == 0 {
		for _, kv := range env {
			fmt.Fprint(c.stdout, kv+end)
		}
		return nil
	}
	if c.run == nil {
		return fmt.Errorf("cannot run %s here", args[0])
	}
	return c.run(c.withEnv(env), args)
}

func unsetEnv(env []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, name+"=")
	})
}
