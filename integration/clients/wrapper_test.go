package clients

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The clients call the runtime through a wrapper named quilt that appends
// its arguments to a call log and execs the runtime under test, so a test
// can tell that (and how) a client called it, and the cleanup knows which
// roots and ids to look at.

// writeWrapper writes dir/quilt, the wrapper of the runtime real that logs
// to logPath, and returns its path.
func writeWrapper(dir, real, logPath string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	script := fmt.Sprintf(`#!/bin/sh
# Written by the quilt client tests: log the call, then run the runtime.
REAL=%s
LOG=%s
line="$$"
for a in "$@"; do line="$line $a"; done
echo "$line" >> "$LOG"
exec "$REAL" "$@"
`, shellQuote(real), shellQuote(logPath))
	p := filepath.Join(dir, "quilt")
	return p, os.WriteFile(p, []byte(script), 0o755)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// wrappedRuntime reads back the runtime that a wrapper runs.
func wrappedRuntime(wrapper string) string {
	b, err := os.ReadFile(wrapper)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "REAL="); ok {
			return strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
		}
	}
	return ""
}

// runtimeCall is one logged call: the global --root (empty for the
// default), the subcommand and its last argument (the container id for
// every subcommand the clients use).
type runtimeCall struct {
	root string
	sub  string
	id   string
	args []string
}

// readCalls parses a wrapper's call log.
func readCalls(logPath string) []runtimeCall {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil
	}
	var calls []runtimeCall
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		c := runtimeCall{args: f[1:]}
		for i := 0; i < len(c.args); i++ {
			a := c.args[i]
			if v, ok := strings.CutPrefix(a, "--root="); ok {
				c.root = v
				continue
			}
			switch a {
			case "--root", "--log", "--log-format", "--criu", "--rootless":
				if a == "--root" && i+1 < len(c.args) {
					c.root = c.args[i+1]
				}
				i++
				continue
			}
			if strings.HasPrefix(a, "-") {
				continue
			}
			c.sub, c.id = a, c.args[len(c.args)-1]
			break
		}
		calls = append(calls, c)
	}
	return calls
}

// countCalls counts the logged calls of subcommand sub whose arguments
// contain every one of with.
func countCalls(calls []runtimeCall, sub string, with ...string) int {
	n := 0
	for _, c := range calls {
		joined := " " + strings.Join(c.args, " ") + " "
		ok := c.sub == sub
		for _, w := range with {
			ok = ok && strings.Contains(joined, w)
		}
		if ok {
			n++
		}
	}
	return n
}

// runtimeList lists the ids of the containers under a runtime root ("" is
// the runtime's default).
func runtimeList(runtime, root string) ([]string, error) {
	args := []string{"list", "-q"}
	if root != "" {
		args = append([]string{"--root", root}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, runtime, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", runtime, strings.Join(args, " "), err)
	}
	return strings.Fields(string(out)), nil
}

// leftContainers lists, per root, the containers of the call log that the
// runtime still lists: the clients must have deleted all of them.
func leftContainers(runtime string, calls []runtimeCall) (map[string][]string, error) {
	roots := map[string]bool{}
	ids := map[string]bool{}
	for _, c := range calls {
		if c.sub != "" {
			roots[c.root] = true
			ids[c.id] = true
		}
	}
	left := map[string][]string{}
	for root := range roots {
		listed, err := runtimeList(runtime, root)
		if err != nil {
			return nil, err
		}
		for _, id := range listed {
			if ids[id] {
				left[root] = append(left[root], id)
			}
		}
	}
	return left, nil
}

// forceDelete deletes, with `delete --force`, what leftContainers finds.
func forceDelete(runtime string, calls []runtimeCall) error {
	left, err := leftContainers(runtime, calls)
	if err != nil {
		return err
	}
	for root, ids := range left {
		for _, id := range ids {
			args := []string{"delete", "--force", id}
			if root != "" {
				args = append([]string{"--root", root}, args...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := exec.CommandContext(ctx, runtime, args...).CombinedOutput()
			cancel()
			if err != nil {
				return fmt.Errorf("%s %s: %w: %s", runtime, strings.Join(args, " "), err, out)
			}
		}
	}
	return nil
}
