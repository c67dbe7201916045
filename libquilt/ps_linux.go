package libquilt

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Processes returns the host pids of every process in the container's
// cgroup.
func (r *Runtime) Processes(id string) ([]int, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	pids, err := c.lc.Processes()
	if err != nil {
		return nil, fmt.Errorf("container %s processes: %w", id, err)
	}
	return pids, nil
}

// PsTable runs ps(1) on the host with args (default -ef) and keeps the
// header and the lines of the container's processes.
func (r *Runtime) PsTable(id string, args []string) (string, error) {
	pids, err := r.Processes(id)
	if err != nil {
		return "", err
	}
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	out, err := exec.Command("ps", args...).Output()
	if err != nil {
		return "", fmt.Errorf("ps %s: %w", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return "", fmt.Errorf("ps %s: no PID column in its output", strings.Join(args, " "))
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if col >= len(fields) {
			continue
		}
		pid, err := strconv.Atoi(fields[col])
		if err == nil && slices.Contains(pids, pid) {
			b.WriteString(line + "\n")
		}
	}
	return b.String(), nil
}
