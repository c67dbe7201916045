package libquilt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/types"
)

// Event is one line of `events`: {"type": "stats"|"oom", "id", "data"}.
type Event = types.Event

// Stats is the statistics document of `events --stats`, in runc's format.
type Stats = types.Stats

// Stats returns the container's current cgroup statistics.
func (r *Runtime) Stats(id string) (*Stats, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	return c.stats()
}

func (c *container) stats() (*Stats, error) {
	status, err := c.status()
	if err != nil {
		return nil, err
	}
	if status == Stopped {
		return nil, &StateError{ID: c.id, Op: "get statistics of", Status: status, Want: "it has no cgroup"}
	}
	st, err := c.lc.Stats()
	if err != nil {
		return nil, fmt.Errorf("container %s statistics: %w", c.id, err)
	}
	out := convertStats(st)
	if n, ok := c.oomKills(); ok {
		if out.Memory.Raw == nil {
			out.Memory.Raw = make(map[string]uint64)
		}
		out.Memory.Raw["oom_kill"] = n
	}
	return out, nil
}

// oomKills reads how many processes the kernel OOM-killed in the
// container's memory cgroup: memory.oom_control (v1) or memory.events (v2).
// OOMKills returns how many processes of the container the kernel has
// OOM-killed. It works in every state while the container exists, a stopped
// one included (its cgroup stays until delete); ok is false when the
// cgroup has no such counter.
func (r *Runtime) OOMKills(id string) (n uint64, ok bool, err error) {
	c, err := r.load(id)
	if err != nil {
		return 0, false, err
	}
	n, ok = c.oomKills()
	return n, ok, nil
}

func (c *container) oomKills() (uint64, bool) {
	st, err := c.lc.State()
	if err != nil {
		return 0, false
	}
	for _, f := range []struct{ ctrl, file string }{{"memory", "memory.oom_control"}, {"", "memory.events"}} {
		dir, ok := st.CgroupPaths[f.ctrl]
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.file))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

// Events sends a stats event every interval and an oom event whenever the
// kernel OOM-kills a process of the container, until ctx ends or the
// container stops.
func (r *Runtime) Events(ctx context.Context, id string, interval time.Duration, emit func(*Event) error) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	status, err := c.status()
	if err != nil {
		return err
	}
	if status == Stopped {
		return &StateError{ID: id, Op: "watch events of", Status: status, Want: "it is not running"}
	}
	if interval <= 0 {
		return fmt.Errorf("events: --interval %v must be positive", interval)
	}
	oom, err := c.lc.NotifyOOM()
	if err != nil {
		return fmt.Errorf("container %s: watch OOM: %w", id, err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-oom:
			if !ok {
				// The cgroup is gone: the container stopped.
				return nil
			}
			if err := emit(&Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		case <-tick.C:
			st, err := c.stats()
			if errors.Is(err, ErrInvalidState) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := emit(&Event{Type: "stats", ID: id, Data: st}); err != nil {
				return err
			}
		}
	}
}

// convertStats turns libcontainer's statistics into runc's events format.
func convertStats(ls *libcontainer.Stats) *Stats {
	s := &Stats{}
	if ls == nil || ls.CgroupStats == nil {
		return s
	}
	cg := ls.CgroupStats
	cpu := cg.CpuStats
	s.CPU.Usage = types.CpuUsage{
		Total: cpu.CpuUsage.TotalUsage, Percpu: cpu.CpuUsage.PercpuUsage,
		PercpuKernel: cpu.CpuUsage.PercpuUsageInKernelmode, PercpuUser: cpu.CpuUsage.PercpuUsageInUsermode,
		Kernel: cpu.CpuUsage.UsageInKernelmode, User: cpu.CpuUsage.UsageInUsermode,
	}
	s.CPU.Throttling = types.Throttling{
		Periods: cpu.ThrottlingData.Periods, ThrottledPeriods: cpu.ThrottlingData.ThrottledPeriods,
		ThrottledTime: cpu.ThrottlingData.ThrottledTime,
	}
	s.CPU.PSI = cpu.PSI
	cs := cg.CPUSetStats
	s.CPUSet = types.CPUSet{
		CPUs: cs.CPUs, CPUExclusive: cs.CPUExclusive, Mems: cs.Mems, MemHardwall: cs.MemHardwall,
		MemExclusive: cs.MemExclusive, MemoryMigrate: cs.MemoryMigrate, MemorySpreadPage: cs.MemorySpreadPage,
		MemorySpreadSlab: cs.MemorySpreadSlab, MemoryPressure: cs.MemoryPressure,
		SchedLoadBalance: cs.SchedLoadBalance, SchedRelaxDomainLevel: cs.SchedRelaxDomainLevel,
	}
	mem := cg.MemoryStats
	s.Memory = types.Memory{
		Cache: mem.Cache, Usage: memoryEntry(mem.Usage), Swap: memoryEntry(mem.SwapUsage),
		Kernel: memoryEntry(mem.KernelUsage), KernelTCP: memoryEntry(mem.KernelTCPUsage),
		Raw: mem.Stats, PSI: mem.PSI,
	}
	s.Pids = types.Pids{Current: cg.PidsStats.Current, Limit: cg.PidsStats.Limit}
	b := cg.BlkioStats
	s.Blkio = types.Blkio{
		IoServiceBytesRecursive: blkio(b.IoServiceBytesRecursive), IoServicedRecursive: blkio(b.IoServicedRecursive),
		IoQueuedRecursive: blkio(b.IoQueuedRecursive), IoServiceTimeRecursive: blkio(b.IoServiceTimeRecursive),
		IoWaitTimeRecursive: blkio(b.IoWaitTimeRecursive), IoMergedRecursive: blkio(b.IoMergedRecursive),
		IoTimeRecursive: blkio(b.IoTimeRecursive), SectorsRecursive: blkio(b.SectorsRecursive), PSI: b.PSI,
	}
	s.Hugetlb = make(map[string]types.Hugetlb, len(cg.HugetlbStats))
	for size, h := range cg.HugetlbStats {
		s.Hugetlb[size] = types.Hugetlb{Usage: h.Usage, Max: h.MaxUsage, Failcnt: h.Failcnt}
	}
	for _, iface := range ls.Interfaces {
		if iface == nil {
			continue
		}
		s.NetworkInterfaces = append(s.NetworkInterfaces, &types.NetworkInterface{
			Name: iface.Name, RxBytes: iface.RxBytes, RxPackets: iface.RxPackets, RxErrors: iface.RxErrors,
			RxDropped: iface.RxDropped, TxBytes: iface.TxBytes, TxPackets: iface.TxPackets,
			TxErrors: iface.TxErrors, TxDropped: iface.TxDropped,
		})
	}
	return s
}

func memoryEntry(d cgroups.MemoryData) types.MemoryEntry {
	return types.MemoryEntry{Limit: d.Limit, Usage: d.Usage, Max: d.MaxUsage, Failcnt: d.Failcnt}
}

func blkio(entries []cgroups.BlkioStatEntry) []types.BlkioEntry {
	out := make([]types.BlkioEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, types.BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
	}
	return out
}
