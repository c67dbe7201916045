package initproto

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ExitStatus is what quilt-init writes to StatusFD when its command exits.
type ExitStatus struct {
	// ExitCode is the command's exit code, 128+Signal when a signal killed
	// it, 127 when it was not found and 126 when it could not be executed.
	ExitCode int `json:"exitCode"`
	// Signal is the signal that killed the command, 0 if none did.
	Signal int `json:"signal,omitempty"`
	// Pid is the command's pid (in the container), 0 if it never started.
	Pid int `json:"pid"`
	// Finished is when quilt-init saw the command exit.
	Finished time.Time `json:"finished"`
}

// ReadExitStatus reads the exit-status file at path. The error wraps
// os.ErrNotExist when the file is missing or still empty, that is when the
// container has not exited yet, and ErrMalformed when it holds no valid
// status.
func ReadExitStatus(path string) (*ExitStatus, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exit status: %w", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("exit status %s: empty: %w", path, os.ErrNotExist)
	}
	var st ExitStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("exit status %s: %w: %w", path, ErrMalformed, err)
	}
	return &st, nil
}

// statusFromWait turns a wait status into an ExitStatus.
func statusFromWait(pid int, ws unix.WaitStatus, finished time.Time) ExitStatus {
	st := ExitStatus{Pid: pid, Finished: finished, ExitCode: ws.ExitStatus()}
	if ws.Signaled() {
		st.Signal = int(ws.Signal())
		st.ExitCode = 128 + st.Signal
	}
	return st
}

// appendJSON appends s as JSON, as encoding/json writes it, without the
// reflection quilt-init would otherwise link.
func (s *ExitStatus) appendJSON(b []byte) []byte {
	b = append(b, `{"exitCode":`...)
	b = strconv.AppendInt(b, int64(s.ExitCode), 10)
	if s.Signal != 0 {
		b = append(b, `,"signal":`...)
		b = strconv.AppendInt(b, int64(s.Signal), 10)
	}
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(s.Pid), 10)
	b = append(b, `,"finished":"`...)
	b = s.Finished.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// writeExitStatus writes s to f in one write. It does not sync it: the
// page cache keeps it for quiltd, restarted or not, and a crash of the
// host, the only thing a sync guards against, takes the container with it.
// quiltd learns of the exit only once quilt-init has exited, after this.
func writeExitStatus(f *os.File, s ExitStatus) error {
	if _, err := f.Write(s.appendJSON(make([]byte, 0, 128))); err != nil {
		return wrap(err, "write exit status")
	}
	return nil
}
