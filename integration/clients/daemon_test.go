package clients

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemon is a client daemon (containerd, dockerd) that a test started,
// logging to a file in its work directory.
type daemon struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// startDaemon starts argv with its output in logPath, and stops it in the
// test's cleanup if the test did not.
func startDaemon(t *testing.T, logPath string, env []string, dir string, argv ...string) *daemon {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("daemon log: %v", err)
	}
	defer logFile.Close()
	d := &daemon{name: argv[0], logPath: logPath, exited: make(chan struct{})}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Dir = dir
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	// Its own process group: a ^C of the test run reaches the test, whose
	// cleanup stops the daemon in order.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", d.name, err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	return d
}

// waitReady polls probe until it succeeds, and fails the test with the end
// of the daemon's log when the daemon exits or does not get ready.
func (d *daemon) waitReady(t *testing.T, timeout time.Duration, probe func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := probe()
		if err == nil {
			return
		}
		select {
		case <-d.exited:
			t.Fatalf("%s exited: %v\n%s", d.name, d.cmd.ProcessState, d.logTail(30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v: %v\n%s", d.name, timeout, err, d.logTail(30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends SIGTERM, and SIGKILL after grace.
func (d *daemon) stop(grace time.Duration) error {
	select {
	case <-d.exited:
		return nil
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(grace):
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	return fmt.Errorf("%s did not stop in %v after SIGTERM; killed", d.name, grace)
}

// logTail is the end of the daemon's log.
func (d *daemon) logTail(lines int) string {
	return fileTail(d.logPath, lines)
}

// fileTail is the last lines of a file, or why it could not be read.
func fileTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("--- %s (last %d lines)\n%s", path, len(all), strings.Join(all, "\n"))
}

// errText turns a failed result into an error for a readiness probe.
func errText(r result) error {
	if r.code == 0 && r.err == nil {
		return nil
	}
	return errors.New(r.String())
}
