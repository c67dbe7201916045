package daemon_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
)

// TestQuiltctlSeed is the issue's own example: an image file run once,
// imported on first use and reused after, with a memory limit and a
// compound shell command.
func TestQuiltctlSeed(t *testing.T) {
	d := startDaemon(t)
	out, errOut, code := d.quiltctl(t, "run", "--rm", "--image-path", imagePath, "--memory-limit", "512", "--",
		"/bin/sh", "-c", "echo 'Hello World'; ls /bin")
	if code != 0 || !strings.HasPrefix(out, "Hello World\n") || !strings.Contains(out, "busybox\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Imported once: the second run reuses the image.
	d.quiltctl(t, "run", "--rm", "--image-path", imagePath, "--", "true")
	if out, _, _ := d.quiltctl(t, "images", "-q"); len(strings.Fields(out)) != 1 {
		t.Fatalf("images after two runs: %q", out)
	}
	// Exit status passes through; --sh runs a command line.
	if _, _, code := d.quiltctl(t, "run", "--rm", "--sh", "echo x | grep -q y", imagePath); code != 1 {
		t.Errorf("a failing pipeline: exit %d, want 1", code)
	}
	// An OOM kill is 137 with a sentence on stderr.
	_, errOut, code = d.quiltctl(t, "run", "--rm", "-m", "64M", imagePath, "--", "/bin/testinit", "alloc", "200")
	if code != 137 || !strings.Contains(errOut, "out of memory") {
		t.Errorf("OOM: exit %d, stderr %q", code, errOut)
	}
	if out, _, _ := d.quiltctl(t, "ps", "-a", "-q"); out != "" {
		t.Errorf("--rm left containers: %q", out)
	}
}

func TestQuiltctlCommands(t *testing.T) {
	d := startDaemon(t)
	ok := func(args ...string) string {
		t.Helper()
		out, errOut, code := d.quiltctl(t, args...)
		if code != 0 {
			t.Fatalf("quiltctl %v: exit %d, stderr %q", args, code, errOut)
		}
		return out
	}
	if out := ok("import", "--name", "bb:1", "-q", imagePath); !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("import: %q", out)
	}
	if out := ok("images"); !strings.Contains(out, "bb:1") || !strings.Contains(out, "rootfs tarball") {
		t.Errorf("images: %q", out)
	}
	id := strings.TrimSpace(ok("run", "-d", "--name", "web", "-l", "tier=front", "-e", "A=1", "--sh",
		`echo started; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done`, "bb:1"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q", id)
	}
	created := strings.TrimSpace(ok("create", "--name", "later", "bb:1", "--", "echo", "later"))
	ok("start", "later")
	if out := ok("wait", "later"); strings.TrimSpace(out) != "0" {
		t.Errorf("wait: %q", out)
	}
	if out := ok("logs", created); out != "later\n" {
		t.Errorf("logs: %q", out)
	}
	if out := ok("ps"); !strings.Contains(out, "web") || strings.Contains(out, "later") {
		t.Errorf("ps: %q", out)
	}
	if out := ok("ps", "-a", "--filter", "label=tier=front", "-q"); strings.TrimSpace(out) != id[:12] {
		t.Errorf("ps --filter label: %q", out)
	}
	// JSON lines, one container each, as docker ps --format json.
	lines := strings.Split(strings.TrimSpace(ok("ps", "-a", "--format", "json")), "\n")
	for _, l := range lines {
		var c map[string]any
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Errorf("ps --format json: %q: %v", l, err)
		}
	}
	if len(lines) != 2 {
		t.Errorf("ps --format json: %d lines", len(lines))
	}
	var info []map[string]any
	if err := json.Unmarshal([]byte(ok("inspect", "web")), &info); err != nil || len(info) != 1 || info[0]["name"] != "web" {
		t.Errorf("inspect: %v %v", info, err)
	}
	if out := ok("exec", "-e", "B=2", "web", "sh", "-c", "echo $A$B"); out != "12\n" {
		t.Errorf("exec: %q", out)
	}
	if _, _, code := d.quiltctl(t, "exec", "web", "sh", "-c", "exit 4"); code != 4 {
		t.Errorf("exec exit code %d", code)
	}
	cmd := exec.Command(filepath.Join(binDir, "quiltctl"), "--address", d.addr, "exec", "-i", "web", "tr", "a-z", "A-Z")
	cmd.Stdin = strings.NewReader("piped\n")
	if out, err := cmd.Output(); err != nil || string(out) != "PIPED\n" {
		t.Errorf("exec -i: %q %v", out, err)
	}
	if out := ok("stats", "--no-stream", "web"); !strings.Contains(out, "web") {
		t.Errorf("stats: %q", out)
	}
	if out := ok("logs", "--tail", "1", "web"); out != "started\n" {
		t.Errorf("logs --tail 1: %q", out)
	}
	if out := ok("logs", "-t", "web"); !strings.Contains(out, "T") || !strings.HasSuffix(out, " started\n") {
		t.Errorf("logs -t: %q", out)
	}
	ok("kill", "-s", "TERM", "web")
	if out := ok("wait", "web"); strings.TrimSpace(out) != "0" {
		t.Errorf("wait after TERM: %q", out)
	}
	if out := ok("logs", "web"); out != "started\nbye\n" {
		t.Errorf("logs after TERM: %q", out)
	}
	ok("rm", "web", "later")
	ok("rmi", "bb:1")
	if out := ok("version"); !strings.Contains(out, "quilt.v1") {
		t.Errorf("version: %q", out)
	}
}

func TestQuiltctlStopAndRemove(t *testing.T) {
	d := startDaemon(t)
	d.quiltctl(t, "run", "-d", "--name", "s", imagePath, "--", "sleep", "60")
	_, errOut, code := d.quiltctl(t, "rm", "s")
	if code == 0 || !strings.Contains(errOut, "is running") || strings.Contains(errOut, "rpc error") {
		t.Errorf("rm of a running container: exit %d, stderr %q", code, errOut)
	}
	start := time.Now()
	if _, errOut, code := d.quiltctl(t, "stop", "-t", "1", "s"); code != 0 {
		t.Fatalf("stop: %d %q", code, errOut)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("stop -t 1 took %v", time.Since(start))
	}
	if out, _, _ := d.quiltctl(t, "ps", "-a"); !strings.Contains(out, "Exited (143)") && !strings.Contains(out, "Exited (137)") {
		t.Errorf("ps after stop: %q", out)
	}
	d.quiltctl(t, "run", "-d", "--name", "f", imagePath, "--", "sleep", "60")
	if _, errOut, code := d.quiltctl(t, "rm", "-f", "f", "s"); code != 0 {
		t.Fatalf("rm -f: %d %q", code, errOut)
	}
	for _, args := range [][]string{
		{"rm", "nosuch"},
		{"logs", "nosuch"},
		{"run", "--rm", "nosuch:image", "--", "true"},
		{"run", "--rm", "-m", "-5", imagePath, "--", "true"},
		{"run", "--rm", "--name", "bad name", imagePath, "--", "true"},
	} {
		_, errOut, code := d.quiltctl(t, args...)
		if code == 0 || !strings.HasPrefix(errOut, "quiltctl: ") || strings.Contains(errOut, "rpc error") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("quiltctl %v: exit %d, stderr %q: want one plain sentence", args, code, errOut)
		}
	}
}

// TestQuiltctlExecTerminal runs `exec -it` on a real pseudo-terminal.
func TestQuiltctlExecTerminal(t *testing.T) {
	d := startDaemon(t)
	d.quiltctl(t, "run", "-d", "--name", "tty", imagePath, "--", "sleep", "60")
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		t.Fatal(err)
	}
	defer pty.Close()
	defer slave.Close()
	if err := pty.Resize(console.WinSize{Height: 30, Width: 90}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "quiltctl"), "--address", d.addr, "exec", "-it", "tty", "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := pty.Write([]byte("stty size; tty; exit 6\n")); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	lines := make(chan string)
	go func() {
		r := bufio.NewReader(pty)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(seen.String(), "/dev/pts/") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("terminal closed; saw %q", seen.String())
			}
			seen.WriteString(l)
		case <-deadline:
			t.Fatalf("no answer on the terminal; saw %q", seen.String())
		}
	}
	if !strings.Contains(seen.String(), "30 90") {
		t.Errorf("the terminal size did not reach the container: %q", seen.String())
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 6 {
		t.Errorf("exec -it exit: %v, want status 6", err)
	}
}

func TestQuiltctlEventsAndFollow(t *testing.T) {
	d := startDaemon(t)
	events := exec.Command(filepath.Join(binDir, "quiltctl"), "--address", d.addr, "events", "--format", "json")
	var evOut strings.Builder
	events.Stdout = &evOut
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	defer events.Process.Kill()
	time.Sleep(300 * time.Millisecond) // subscribed before the run below
	id, errOut, code := d.quiltctl(t, "run", "-d", "--name", "ev", "--image-path", imagePath, "--sh", "for i in 1 2 3; do echo $i; sleep 0.2; done")
	if code != 0 {
		t.Fatalf("run -d: %d %q", code, errOut)
	}
	start := time.Now()
	out, _, code := d.quiltctl(t, "logs", "-f", "ev")
	if code != 0 || out != "1\n2\n3\n" || time.Since(start) < 300*time.Millisecond {
		t.Errorf("logs -f: %q exit %d after %v", out, code, time.Since(start))
	}
	d.quiltctl(t, "rm", "ev")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(evOut.String(), `"remove"`) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	events.Process.Kill()
	events.Wait()
	var types []string
	for _, l := range strings.Split(strings.TrimSpace(evOut.String()), "\n") {
		var e struct {
			Type, ID string
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("event line %q: %v", l, err)
		}
		if e.ID == strings.TrimSpace(id) {
			types = append(types, e.Type)
		}
	}
	if strings.Join(types, ",") != "create,start,exit,remove" {
		t.Errorf("events of the container: %v\n%s", types, evOut.String())
	}
}

// TestSocketPermissions: the API socket is root's alone unless a group is
// given.
func TestSocketPermissions(t *testing.T) {
	d := startDaemon(t)
	fi, err := os.Stat(d.addr)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o600 || st.Uid != 0 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket %s: mode %v uid %d, want a root-only 0600 socket", d.addr, fi.Mode(), st.Uid)
	}
	sock := filepath.Join(d.dir, "group.sock")
	cmd := exec.Command(filepath.Join(binDir, "quiltd"), "--address", sock, "--group", "65534",
		"--root", filepath.Join(d.dir, "root2"), "--state", filepath.Join(d.dir, "state2"), "--cgroup-parent", d.cgroupParent+"-g")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err = os.Stat(sock); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	fi, _ = os.Stat(sock)
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o660 || st.Gid != 65534 {
		t.Errorf("--group socket: mode %v gid %d, want 0660 and gid 65534", fi.Mode(), st.Gid)
	}
}
