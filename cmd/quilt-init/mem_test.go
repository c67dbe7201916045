package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quilt-runtime/quilt/daemon/initproto"
)

// memory is what /proc/PID/smaps_rollup says of a process, in kB.
type memory struct {
	privateClean, privateDirty int
}

// uss is the unique set size: the memory only this process maps.
func (m memory) uss() int { return m.privateClean + m.privateDirty }

func readMemory(t testing.TB, pid int) memory {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		t.Skip(err)
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Private_Clean:":
			m.privateClean = n
		case "Private_Dirty:":
			m.privateDirty = n
		}
	}
	return m
}

// ussLimitKB is the bound on the memory quiltd adds per running
// container; idleTargetKB what quilt-init aims for while idle.
const (
	ussLimitKB   = 2400
	idleTargetKB = 1500
)

// TestMemory measures quilt-init's USS (Private_Clean + Private_Dirty)
// while idle with a sleeping command: alone, where the clean pages of its
// binary count as its own; beside a second quilt-init, which shares them
// as every container's quilt-init does, so that what remains is what one
// more container adds; and after a series of execs.
func TestMemory(t *testing.T) {
	settle := 1500 * time.Millisecond // longer than idleTrim
	a := agentInit(t)
	time.Sleep(settle)
	alone := readMemory(t, a.cmd.Process.Pid)
	t.Logf("alone: USS %d kB (Private_Clean %d kB, the binary's pages; Private_Dirty %d kB)", alone.uss(), alone.privateClean, alone.privateDirty)

	b := agentInit(t)
	time.Sleep(settle)
	shared := readMemory(t, a.cmd.Process.Pid)
	t.Logf("beside another quilt-init: USS %d kB and %d kB", shared.uss(), readMemory(t, b.cmd.Process.Pid).uss())

	for range 50 {
		execute(t, a, initproto.ExecRequest{Args: []string{"head", "-c", "10000", "/dev/zero"}, Env: testEnv})
	}
	time.Sleep(settle)
	after := readMemory(t, a.cmd.Process.Pid)
	t.Logf("after 50 execs, beside another quilt-init: USS %d kB", after.uss())

	if alone.privateDirty > idleTargetKB {
		t.Errorf("Private_Dirty alone %d kB > %d kB", alone.privateDirty, idleTargetKB)
	}
	if shared.uss() > idleTargetKB {
		t.Errorf("USS beside another quilt-init %d kB > %d kB", shared.uss(), idleTargetKB)
	}
	if after.uss() > ussLimitKB {
		t.Errorf("USS after execs %d kB > %d kB", after.uss(), ussLimitKB)
	}
}

// BenchmarkExec measures an exec's round trip through the agent: Dial,
// Start and Wait of /bin/true, reported as the median and 99th percentile
// besides the mean. The direct sub-benchmark starts /bin/true from the
// test process instead, for the cost of the process itself on this
// machine.
func BenchmarkExec(b *testing.B) {
	b.Run("agent", func(b *testing.B) {
		p := agentInit(b)
		req := initproto.ExecRequest{Args: []string{"/bin/true"}, Env: testEnv}
		timed(b, func() {
			c, err := initproto.Dial(context.Background(), p.sock)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			proc, err := c.Start(req)
			if err != nil {
				b.Fatal(err)
			}
			if code, err := proc.Wait(); code != 0 || err != nil {
				b.Fatalf("Wait = %d, %v", code, err)
			}
		})
	})
	b.Run("direct", func(b *testing.B) {
		timed(b, func() {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// timed runs fn b.N times and reports the median and 99th percentile.
func timed(b *testing.B, fn func()) {
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		fn()
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "median-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}
