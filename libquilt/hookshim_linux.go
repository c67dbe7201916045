package libquilt

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hookShimArg re-executes the runtime binary as a hook shim: it reads the
// state libcontainer gives a hook on stdin, sets the status the runtime
// spec wants the hook to see, and executes the real hook with that state
// on stdin. libcontainer serializes only command hooks, so the status
// cannot be changed in-process.
const hookShimArg = "__quilt-hook-shim"

// IsHookShim reports whether this process was started as a hook shim.
func IsHookShim() bool { return len(os.Args) > 3 && os.Args[1] == hookShimArg }

// RunHookShim runs the shim: os.Args is
// [binary, hookShimArg, status, hook path, hook argv...]. It does not
// return on success.
func RunHookShim() {
	if err := hookShim(os.Args[2], os.Args[3], os.Args[4:]); err != nil {
		fmt.Fprintf(os.Stderr, "quilt hook shim: %v\n", err)
		os.Exit(1)
	}
}

func hookShim(status, path string, argv []string) error {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	var st specs.State
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("parse state: %w", err)
	}
	st.Status = specs.ContainerState(status)
	if data, err = json.Marshal(&st); err != nil {
		return err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil {
		return fmt.Errorf("state pipe: %w", err)
	}
	if _, err := unix.Write(p[1], data); err != nil { // fits the pipe buffer
		return fmt.Errorf("write state: %w", err)
	}
	unix.Close(p[1])
	if err := unix.Dup2(p[0], 0); err != nil {
		return fmt.Errorf("state pipe: %w", err)
	}
	if len(argv) == 0 {
		argv = []string{path}
	}
	if err := unix.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec hook %s: %w", path, err)
	}
	return nil
}

// shimHook wraps a command hook in the shim so that it sees status.
func shimHook(h configs.Hook, status specs.ContainerState) (configs.Hook, error) {
	ch, ok := h.(configs.CommandHook)
	if !ok {
		return h, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("hook shim: %w", err)
	}
	args := append([]string{filepath.Base(self), hookShimArg, string(status), ch.Path}, ch.Args...)
	cmd := *ch.Command
	cmd.Path, cmd.Args = self, args
	return configs.NewCommandHook(&cmd), nil
}
