package daemon_test

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// TestSurvivesSIGKILL kills quiltd while containers run: after a restart
// every container is still there, the running ones still run and log
// without a gap, the one that exited meanwhile has its exit code, and stop
// and remove work on all of them.
func TestSurvivesSIGKILL(t *testing.T) {
	d := startDaemon(t)
	counter := `i=0; while :; do echo $i; i=$((i+1)); sleep 0.02; done`
	a := d.runDetached(t, sh(counter))
	b := d.runDetached(t, sh(counter))
	ends := d.runDetached(t, sh(`sleep 1; echo bye; exit 3`))
	created := d.create(t, argv("echo", "late start"))
	d.waitLog(t, a.Id, "\n10\n")

	d.stop(syscall.SIGKILL)
	time.Sleep(2 * time.Second) // "ends" exits while quiltd is down
	d.start()

	list, err := d.ctrs.List(ctx(t), &quiltv1.ListRequest{All: true})
	if err != nil || len(list.Containers) != 4 {
		t.Fatalf("after the restart: %v, %v", list, err)
	}
	for _, c := range []*quiltv1.Container{a, b} {
		got, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: c.Id})
		if err != nil || got.Status != quiltv1.Status_STATUS_RUNNING {
			t.Fatalf("%s after the restart: %v, %v", c.Name, got, err)
		}
	}
	got, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: ends.Id})
	if err != nil || got.Status != quiltv1.Status_STATUS_EXITED || got.ExitCode != 3 {
		t.Fatalf("the container that exited while quiltd was down: %v, %v", got, err)
	}
	if out := d.logs(t, &quiltv1.LogsRequest{Id: ends.Id}); out != "bye\n" {
		t.Fatalf("its log: %q", out)
	}
	// Still logging, and no line lost: the counter has no gap.
	n := countLines(d.logs(t, &quiltv1.LogsRequest{Id: a.Id}))
	d.waitLog(t, a.Id, "\n"+strconv.Itoa(n+20)+"\n")
	if _, err := d.ctrs.Stop(ctx(t), &quiltv1.StopRequest{Id: a.Id}); err != nil {
		t.Fatal(err)
	}
	checkCounter(t, d.logs(t, &quiltv1.LogsRequest{Id: a.Id}))
	// exec reaches a container of the previous daemon.
	if out, code := d.exec(t, b.Id, "echo", "still here"); out != "still here\n" || code != 0 {
		t.Fatalf("exec after the restart: %q %d", out, code)
	}
	// The created one can still be started.
	if _, err := d.ctrs.Start(ctx(t), &quiltv1.StartRequest{Id: created.Id}); err != nil {
		t.Fatal(err)
	}
	if w, err := d.ctrs.Wait(ctx(t), &quiltv1.WaitRequest{Id: created.Id}); err != nil || w.ExitCode != 0 {
		t.Fatalf("wait: %v %v", w, err)
	}
	for _, c := range []*quiltv1.Container{a, b, ends, created} {
		if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: c.Id, Force: true}); err != nil {
			t.Fatalf("remove %s: %v", c.Name, err)
		}
		d.checkNothingLeft(t, c.Id)
	}
}

// TestKilledWhileDown: a container SIGKILLed by quiltd, which then dies
// before it saw the exit, still gets 137.
func TestExitWhileDownAfterKill(t *testing.T) {
	d := startDaemon(t)
	c := d.runDetached(t, argv("sleep", "60"))
	d.stop(syscall.SIGTERM)
	d.start()
	if _, err := d.ctrs.Kill(ctx(t), &quiltv1.KillRequest{Id: c.Id, Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	w, err := d.ctrs.Wait(ctx(t), &quiltv1.WaitRequest{Id: c.Id})
	if err != nil || w.ExitCode != 137 {
		t.Fatalf("wait: %v %v", w, err)
	}
}

func countLines(s string) int { return strings.Count(s, "\n") }

// checkCounter fails unless s is the lines 0, 1, 2, ... without a gap.
func checkCounter(t *testing.T, s string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if l != strconv.Itoa(i) {
			t.Fatalf("log line %d is %q: lines were lost (%d lines)", i, l, len(lines))
		}
	}
	if len(lines) < 30 {
		t.Fatalf("only %d lines", len(lines))
	}
}

// TestShutdownWhileFollowing: SIGTERM ends quiltd promptly even while a
// client follows a log; the container keeps running for the next daemon.
func TestShutdownWhileFollowing(t *testing.T) {
	d := startDaemon(t)
	c := d.runDetached(t, argv("sleep", "60"))
	stream, err := d.ctrs.Logs(ctx(t), &quiltv1.LogsRequest{Id: c.Id, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	d.stop(syscall.SIGTERM)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("quiltd took %v to stop", took)
	}
	d.start()
	got, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: c.Id})
	if err != nil || got.Status != quiltv1.Status_STATUS_RUNNING {
		t.Fatalf("after the restart: %v %v", got, err)
	}
}
