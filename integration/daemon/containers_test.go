package daemon_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func sh(script string) *quiltv1.ContainerConfig {
	return &quiltv1.ContainerConfig{Shell: script}
}

func argv(args ...string) *quiltv1.ContainerConfig {
	return &quiltv1.ContainerConfig{Args: args}
}

func TestRunEchoAndLs(t *testing.T) {
	d := startDaemon(t)
	r := d.run(t, sh(`echo 'Hello World'; ls /bin`))
	if r.exit.ExitCode != 0 || !strings.HasPrefix(r.stdout, "Hello World\n") || !strings.Contains(r.stdout, "busybox\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.exit.ExitCode, r.stdout, r.stderr)
	}
}

func TestCompoundCommands(t *testing.T) {
	d := startDaemon(t)
	r := d.run(t, sh(`false || echo or; true && echo and; (echo sub; echo shell) | wc -l; echo err >&2; `+
		`echo redirected > /tmp/f; cat < /tmp/f; x=$(echo subst); echo "$x"`))
	want := "or\nand\n2\nredirected\nsubst\n"
	if r.exit.ExitCode != 0 || r.stdout != want || r.stderr != "err\n" {
		t.Fatalf("exit %d, stdout %q (want %q), stderr %q", r.exit.ExitCode, r.stdout, want, r.stderr)
	}
}

func TestFileOperations(t *testing.T) {
	d := startDaemon(t)
	r := d.run(t, sh(`mkdir -p /tmp/d/e && echo data > /tmp/d/e/f && cp /tmp/d/e/f /tmp/d/g && mv /tmp/d/g /tmp/d/h && `+
		`cat /tmp/d/h && chmod 600 /tmp/d/h && stat -c %a /tmp/d/h && rm -r /tmp/d/e && ls /tmp/d`))
	if r.exit.ExitCode != 0 || r.stdout != "data\n600\nh\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.exit.ExitCode, r.stdout, r.stderr)
	}
}

func TestExitCodes(t *testing.T) {
	d := startDaemon(t)
	for _, tc := range []struct {
		cfg  *quiltv1.ContainerConfig
		code int32
		err  string
	}{
		{sh("exit 7"), 7, ""},
		{argv("/bin/testinit", "exit", "42"), 42, ""},
		{sh("kill -TERM $$"), 128 + 15, ""},
		{argv("/no/such/program"), 127, "/no/such/program"},
		{argv("nosuchcommand"), 127, "nosuchcommand"},
		{argv("/etc/passwd"), 126, "/etc/passwd"},
	} {
		r := d.run(t, tc.cfg)
		if r.exit.ExitCode != tc.code || !strings.Contains(r.stderr, tc.err) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tc.cfg, r.exit.ExitCode, tc.code, r.stderr, tc.err)
		}
		c, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: r.id})
		if err != nil || c.Status != quiltv1.Status_STATUS_EXITED || c.ExitCode != tc.code || c.FinishedAt == nil {
			t.Errorf("inspect %v: %v, %v", tc.cfg, c, err)
		}
	}
}

func TestMemoryLimitOOM(t *testing.T) {
	d := startDaemon(t)
	cfg := argv("/bin/testinit", "alloc", "200")
	cfg.Resources = &quiltv1.Resources{Memory: 64 << 20}
	r := d.run(t, cfg)
	if r.exit.ExitCode != 137 || !r.exit.OomKilled {
		t.Fatalf("a 200 MiB allocation under a 64 MiB limit: exit %d, oom %v, stdout %q", r.exit.ExitCode, r.exit.OomKilled, r.stdout)
	}
	c, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: r.id})
	if err != nil || !c.OomKilled || c.ExitCode != 137 {
		t.Fatalf("inspect: %v, %v", c, err)
	}
	// Within the limit, the same program is fine.
	cfg = argv("/bin/sh", "-c", "/bin/testinit alloc 16 & sleep 0.5; kill %1; echo done")
	cfg.Resources = &quiltv1.Resources{Memory: 64 << 20}
	if r := d.run(t, cfg); r.exit.ExitCode != 0 || r.exit.OomKilled || !strings.Contains(r.stdout, "allocated=16") {
		t.Fatalf("16 MiB under 64 MiB: exit %d, oom %v, stdout %q", r.exit.ExitCode, r.exit.OomKilled, r.stdout)
	}
}

// cgroupFile reads a file of the container's cgroup in a v1 controller, or
// in the v2 hierarchy when the controller has no v1 directory.
func cgroupFile(t *testing.T, d *daemon, id, ctrl, v1, v2 string) string {
	t.Helper()
	for _, p := range []string{
		filepath.Join("/sys/fs/cgroup", ctrl, d.cgroupParent, id, v1),
		filepath.Join("/sys/fs/cgroup", d.cgroupParent, id, v2),
		filepath.Join("/sys/fs/cgroup/unified", d.cgroupParent, id, v2),
	} {
		if data, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(data))
		}
	}
	t.Fatalf("no cgroup file %s/%s for %s", v1, v2, id)
	return ""
}

func TestLimits(t *testing.T) {
	d := startDaemon(t)
	cfg := argv("sleep", "60")
	cfg.Resources = &quiltv1.Resources{Memory: 96 << 20, MemorySwap: 128 << 20, CpuQuota: 50000, CpuPeriod: 100000, CpuShares: 512, PidsLimit: 20}
	c := d.runDetached(t, cfg)
	if got := cgroupFile(t, d, c.Id, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.Itoa(96<<20) {
		t.Errorf("memory limit %s", got)
	}
	if got := cgroupFile(t, d, c.Id, "pids", "pids.max", "pids.max"); got != "20" {
		t.Errorf("pids.max %s", got)
	}
	if got := cgroupFile(t, d, c.Id, "cpu", "cpu.cfs_quota_us", "cpu.max"); got != "50000" && got != "50000 100000" {
		t.Errorf("cpu quota %s", got)
	}
	// quilt-init (several threads) and sleep, once quilt-init has started it.
	var st *quiltv1.ContainerStats
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st, err = d.ctrs.Stats(ctx(t), &quiltv1.StatsRequest{Id: c.Id}); err != nil || st.Pids >= 2 {
			break
		}
	}
	if err != nil || st.MemoryLimit != 96<<20 || st.Pids < 2 || st.PidsLimit != 20 || st.MemoryUsage == 0 || st.CpuUsage == 0 {
		t.Errorf("stats: %v, %v", st, err)
	}
	// The pids limit holds: 30 sleeping children cannot all start.
	cfg = argv("/bin/testinit", "forks", "30")
	cfg.Resources = &quiltv1.Resources{PidsLimit: 10}
	r := d.run(t, cfg)
	if strings.Contains(r.stdout, "forked=30") {
		t.Errorf("30 forks under a pids limit of 10: %q %q", r.stdout, r.stderr)
	}
}

func TestConfigApplied(t *testing.T) {
	d := startDaemon(t)
	host := t.TempDir()
	if err := os.Chmod(host, 0o777); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(host, "in"), []byte("from host\n"), 0o644)
	cfg := sh(`id -u; id -g; pwd; hostname; echo "$GREETING"; cat /data/in; echo x > /data/out; ` +
		`touch /rootfile 2>/dev/null && echo writable || echo readonly; echo t > /scratch/t && echo tmpfs ok; ` +
		`cat /ro/in; echo y > /ro/y 2>/dev/null || echo ro bind; echo "$HOME"`)
	cfg.User, cfg.Workdir, cfg.Hostname, cfg.ReadOnly = "user", "/tmp", "box", true
	cfg.Env = []string{"GREETING=hi there"}
	cfg.Mounts = []*quiltv1.Mount{
		{Type: "bind", Source: host, Destination: "/data"},
		{Type: "bind", Source: host, Destination: "/ro", ReadOnly: true},
		{Type: "tmpfs", Destination: "/scratch"},
	}
	cfg.Labels = map[string]string{"team": "a"}
	r := d.run(t, cfg)
	want := "1000\n1000\n/tmp\nbox\nhi there\nfrom host\nreadonly\ntmpfs ok\nfrom host\nro bind\n/home/user\n"
	if r.stdout != want {
		t.Fatalf("stdout %q, want %q (stderr %q)", r.stdout, want, r.stderr)
	}
	// /data/out was written as the container's user.
	fi, err := os.Stat(filepath.Join(host, "out"))
	if err != nil || fi.Sys().(*syscallStat).Uid != 1000 {
		t.Fatalf("/data/out: %v %v", fi, err)
	}
	list, err := d.ctrs.List(ctx(t), &quiltv1.ListRequest{All: true, Labels: map[string]string{"team": "a"}})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].Id != r.id {
		t.Fatalf("list by label: %v %v", list, err)
	}
}

func TestParallel(t *testing.T) {
	for _, n := range []int{4, 100} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			d := startDaemon(t)
			d.importImage(t, &quiltv1.ImportRequest{Path: imagePath})
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs <- d.runAndRemove(t, i)
				}(i)
			}
			wg.Wait()
			close(errs)
			failed := 0
			for err := range errs {
				if err != nil {
					failed++
					t.Error(err)
				}
			}
			if failed > 0 {
				t.Fatalf("%d of %d containers failed", failed, n)
			}
			list, err := d.ctrs.List(ctx(t), &quiltv1.ListRequest{All: true})
			if err != nil || len(list.Containers) != 0 {
				t.Fatalf("containers left: %v %v", list, err)
			}
			entries, _ := os.ReadDir(filepath.Join(d.root, "containers"))
			for _, e := range entries {
				var left []string
				filepath.WalkDir(filepath.Join(d.root, "containers", e.Name()), func(p string, _ fs.DirEntry, _ error) error {
					left = append(left, p)
					return nil
				})
				t.Errorf("container directory left: %q", left)
			}
		})
	}
}

// runAndRemove runs one container that prints its own index a few times,
// checks that exactly that came back, and removes it.
func (d *daemon) runAndRemove(t *testing.T, i int) error {
	cfg := sh(fmt.Sprintf(`for n in 1 2 3; do echo c%d-$n; done; echo c%d-err >&2`, i, i))
	cfg.Name = fmt.Sprintf("par-%d", i)
	// The daemon's own concurrency, without the network's: 100 CNI ADDs
	// at once are some 40 s of iptables work on two cores. Bridged
	// containers in parallel are TestInstallSoftware's and
	// TestNetworkTeardown's.
	cfg.Network = "none"
	stream, err := d.ctrs.Run(ctx(t), &quiltv1.CreateRequest{Config: withImage(cfg)})
	if err != nil {
		return fmt.Errorf("container %d: run: %w", i, err)
	}
	var id, out, errOut string
	for {
		msg, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("container %d: %w", i, err)
		}
		if c := msg.GetCreated(); c != nil {
			id = c.Id
		}
		if o := msg.GetOutput(); o != nil {
			if o.Stream == quiltv1.Stream_STREAM_STDERR {
				errOut += string(o.Data)
			} else {
				out += string(o.Data)
			}
		}
		if e := msg.GetExit(); e != nil {
			want := fmt.Sprintf("c%d-1\nc%d-2\nc%d-3\n", i, i, i)
			if e.ExitCode != 0 || out != want || errOut != fmt.Sprintf("c%d-err\n", i) {
				return fmt.Errorf("container %d: exit %d, stdout %q (want %q), stderr %q", i, e.ExitCode, out, want, errOut)
			}
			break
		}
	}
	if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: id}); err != nil {
		return fmt.Errorf("container %d: remove: %w", i, err)
	}
	return nil
}

func withImage(cfg *quiltv1.ContainerConfig) *quiltv1.ContainerConfig {
	if cfg.Image == "" {
		cfg.Image = imagePath
	}
	return cfg
}

func TestStopKillWait(t *testing.T) {
	d := startDaemon(t)
	// A command that exits 3 on SIGTERM: stop passes the signal through
	// quilt-init and reports that exit.
	c := d.runDetached(t, argv("/bin/testinit", "trap", "3"))
	d.waitLog(t, c.Id, "ready")
	start := time.Now()
	got, err := d.ctrs.Stop(ctx(t), &quiltv1.StopRequest{Id: c.Id})
	if err != nil || got.Status != quiltv1.Status_STATUS_EXITED || got.ExitCode != 3 || time.Since(start) > 5*time.Second {
		t.Fatalf("stop: %v, %v after %v", got, err, time.Since(start))
	}
	// One that ignores SIGTERM is killed once the timeout passes.
	c = d.runDetached(t, sh(`trap "" TERM; echo ready; while :; do sleep 1; done`))
	d.waitLog(t, c.Id, "ready")
	timeout := int32(1)
	start = time.Now()
	got, err = d.ctrs.Stop(ctx(t), &quiltv1.StopRequest{Id: c.Id, Timeout: &timeout})
	if err != nil || got.ExitCode != 137 || time.Since(start) < time.Second {
		t.Fatalf("stop with timeout: %v, %v after %v", got, err, time.Since(start))
	}
	// kill with a signal; wait returns the status.
	c = d.runDetached(t, argv("/bin/testinit", "pause"))
	d.waitLog(t, c.Id, "ready")
	if _, err := d.ctrs.Kill(ctx(t), &quiltv1.KillRequest{Id: c.Id, Signal: "USR1"}); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, c.Id, "signal=SIGUSR1")
	if _, err := d.ctrs.Kill(ctx(t), &quiltv1.KillRequest{Id: c.Id, Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	w, err := d.ctrs.Wait(ctx(t), &quiltv1.WaitRequest{Id: c.Id})
	if err != nil || w.ExitCode != 137 {
		t.Fatalf("wait after SIGKILL: %v, %v", w, err)
	}
	// Signals to an exited container are refused.
	_, err = d.ctrs.Kill(ctx(t), &quiltv1.KillRequest{Id: c.Id, Signal: "TERM"})
	wantCode(t, err, codes.FailedPrecondition, "not running")
}

func TestRemove(t *testing.T) {
	d := startDaemon(t)
	c := d.runDetached(t, argv("sleep", "60"))
	_, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: c.Id})
	wantCode(t, err, codes.FailedPrecondition, "is running")
	if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: c.Name, Force: true}); err != nil {
		t.Fatal(err)
	}
	_, err = d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: c.Id})
	wantCode(t, err, codes.NotFound, "no such container")
	d.checkNothingLeft(t, c.Id)
	// A created container that never ran goes without force.
	c = d.create(t, argv("true"))
	if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: c.Id}); err != nil {
		t.Fatal(err)
	}
	d.checkNothingLeft(t, c.Id)
	// auto-remove
	cfg := argv("true")
	cfg.AutoRemove = true
	r := d.run(t, cfg)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: r.id})
		if status.Code(err) == codes.NotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("auto-remove: container still there: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.checkNothingLeft(t, r.id)
}

// checkNothingLeft looks for anything of container id: its directory,
// socket, cgroups, mounts and runtime state.
func (d *daemon) checkNothingLeft(t *testing.T, id string) {
	t.Helper()
	for _, p := range []string{
		filepath.Join(d.root, "containers", id),
		filepath.Join(d.state, "s", id[:16]),
		filepath.Join(d.state, "runtime", id),
	} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("left behind: %s", p)
		}
	}
	for _, cg := range cgroupDirs(d.cgroupParent) {
		if _, err := os.Stat(filepath.Join(cg, id)); err == nil {
			t.Errorf("cgroup left behind: %s/%s", cg, id)
		}
	}
	for _, m := range mountsUnder(d.dir) {
		if strings.Contains(m, id) {
			t.Errorf("mount left behind: %s", m)
		}
	}
}

func wantCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st := status.Convert(err)
	if err == nil || st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Fatalf("error %v, want %v with %q", err, code, msg)
	}
}

// TestSecurityDefaults: Docker's capability set and seccomp profile.
func TestSecurityDefaults(t *testing.T) {
	d := startDaemon(t)
	r := d.run(t, sh(`grep -E '^(Seccomp|NoNewPrivs|CapBnd|CapEff):' /proc/self/status; unshare -U true 2>/dev/null && echo unshare allowed || echo unshare denied`))
	for _, want := range []string{"Seccomp:\t2", "CapBnd:\t00000000a80425fb", "CapEff:\t00000000a80425fb", "unshare denied"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	// quiltd compiled the profile once and quilt-init loaded it (the
	// filter is the one libcontainer would load: unshare is denied
	// above); a process exec'd later runs under it too.
	c := d.runDetached(t, sh(`sleep 60`))
	if out, _ := d.exec(t, c.Id, "sh", "-c", `tr '\0' ' ' </proc/1/cmdline; grep -E '^Seccomp:' /proc/self/status; unshare -U true 2>/dev/null && echo unshare allowed || echo unshare denied`); !strings.Contains(out, "/dev/.quilt-init --seccomp ") ||
		!strings.Contains(out, "Seccomp:\t2") || !strings.Contains(out, "unshare denied") {
		t.Errorf("exec in container %s:\n%s", c.Id, out)
	}
	// A non-root command has no effective capabilities.
	cfg := sh(`grep -E '^CapEff:' /proc/self/status`)
	cfg.User = "user"
	if r := d.run(t, cfg); !strings.Contains(r.stdout, "CapEff:\t0000000000000000") {
		t.Errorf("non-root: %q", r.stdout)
	}
}

// TestImageWithoutShell: a command line for an image that has no /bin/sh
// runs with quilt-sh.
func TestImageWithoutShell(t *testing.T) {
	d := startDaemon(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "noshell.tar.gz")
	if err := writeShellLessImage(img, filepath.Join(binDir, "testinit")); err != nil {
		t.Fatal(err)
	}
	cfg := sh(`echo works && ls /bin; x=$(echo sub); echo "$x" > /tmp/f; cat /tmp/f; false || echo or`)
	cfg.Image = img
	r := d.run(t, cfg)
	if r.exit.ExitCode != 0 || r.stdout != "works\nsh\ntestinit\nsub\nor\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.exit.ExitCode, r.stdout, r.stderr)
	}
	// Without a command line it stays as it is: argv runs directly.
	cfg = argv("/bin/testinit", "echo", "direct")
	cfg.Image = img
	if r := d.run(t, cfg); r.stdout != "direct\n" {
		t.Fatalf("argv: %q %q", r.stdout, r.stderr)
	}
}
