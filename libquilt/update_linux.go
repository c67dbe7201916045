package libquilt

import (
	"fmt"
	"maps"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update changes the cgroup limits of a created, running or paused
// container. Only the fields set in r change; the others keep their value.
// This is the JSON that `update --resources` takes (containerd and Docker
// send it on stdin).
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	return r.withLocked(id, func(c *container) error {
		status, err := c.status()
		if err != nil {
			return err
		}
		if status == Stopped {
			return &StateError{ID: id, Op: "update", Status: status, Want: "it has no cgroup to update"}
		}
		config := c.lc.Config()
		cg := *config.Cgroups
		next := *cg.Resources
		mergeResources(&next, res)
		cg.Resources = &next
		config.Cgroups = &cg
		if err := c.lc.Set(config); err != nil {
			return fmt.Errorf("update container %s: %w", id, err)
		}
		return nil
	})
}

// mergeResources applies the fields of r that are set onto dst.
func mergeResources(dst *cgroups.Resources, r *specs.LinuxResources) {
	if m := r.Memory; m != nil {
		setInt(&dst.Memory, m.Limit)
		setInt(&dst.MemoryReservation, m.Reservation)
		setInt(&dst.MemorySwap, m.Swap)
		if m.Swappiness != nil {
			dst.MemorySwappiness = m.Swappiness
		}
		if m.DisableOOMKiller != nil {
			dst.OomKillDisable = *m.DisableOOMKiller
		}
		if m.CheckBeforeUpdate != nil {
			dst.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
		}
		// Lifting the memory limit needs the swap limit lifted too.
		if m.Limit != nil && *m.Limit == -1 && m.Swap == nil {
			dst.MemorySwap = -1
		}
	}
	if cpu := r.CPU; cpu != nil {
		setUint(&dst.CpuShares, cpu.Shares)
		setInt(&dst.CpuQuota, cpu.Quota)
		setUint(&dst.CpuPeriod, cpu.Period)
		setInt(&dst.CpuRtRuntime, cpu.RealtimeRuntime)
		setUint(&dst.CpuRtPeriod, cpu.RealtimePeriod)
		if cpu.Burst != nil {
			dst.CpuBurst = cpu.Burst
		}
		if cpu.Idle != nil {
			dst.CPUIdle = cpu.Idle
		}
		if cpu.Cpus != "" {
			dst.CpusetCpus = cpu.Cpus
		}
		if cpu.Mems != "" {
			dst.CpusetMems = cpu.Mems
		}
		if cpu.Shares != nil {
			// cgroup v2 has cpu.weight; the manager converts shares
			// when CpuWeight is zero.
			dst.CpuWeight = 0
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		limit := *p.Limit
		dst.PidsLimit = &limit
	}
	if b := r.BlockIO; b != nil {
		if b.Weight != nil {
			dst.BlkioWeight = *b.Weight
		}
		if b.LeafWeight != nil {
			dst.BlkioLeafWeight = *b.LeafWeight
		}
		for _, wd := range b.WeightDevice {
			d := cgroups.NewWeightDevice(wd.Major, wd.Minor, 0, 0)
			if wd.Weight != nil {
				d.Weight = *wd.Weight
			}
			if wd.LeafWeight != nil {
				d.LeafWeight = *wd.LeafWeight
			}
			dst.BlkioWeightDevice = upsertWeight(dst.BlkioWeightDevice, d)
		}
		dst.BlkioThrottleReadBpsDevice = upsertThrottles(dst.BlkioThrottleReadBpsDevice, b.ThrottleReadBpsDevice)
		dst.BlkioThrottleWriteBpsDevice = upsertThrottles(dst.BlkioThrottleWriteBpsDevice, b.ThrottleWriteBpsDevice)
		dst.BlkioThrottleReadIOPSDevice = upsertThrottles(dst.BlkioThrottleReadIOPSDevice, b.ThrottleReadIOPSDevice)
		dst.BlkioThrottleWriteIOPSDevice = upsertThrottles(dst.BlkioThrottleWriteIOPSDevice, b.ThrottleWriteIOPSDevice)
	}
	if len(r.Unified) > 0 {
		u := maps.Clone(dst.Unified)
		if u == nil {
			u = make(map[string]string)
		}
		maps.Copy(u, r.Unified)
		dst.Unified = u
	}
}

func setInt(dst *int64, v *int64) {
	if v != nil {
		*dst = *v
	}
}

func setUint(dst *uint64, v *uint64) {
	if v != nil {
		*dst = *v
	}
}

func upsertWeight(list []*cgroups.WeightDevice, d *cgroups.WeightDevice) []*cgroups.WeightDevice {
	for i, old := range list {
		if old.Major == d.Major && old.Minor == d.Minor {
			list[i] = d
			return list
		}
	}
	return append(list, d)
}

func upsertThrottles(list []*cgroups.ThrottleDevice, add []specs.LinuxThrottleDevice) []*cgroups.ThrottleDevice {
outer:
	for _, t := range add {
		d := cgroups.NewThrottleDevice(t.Major, t.Minor, t.Rate)
		for i, old := range list {
			if old.Major == d.Major && old.Minor == d.Minor {
				list[i] = d
				continue outer
			}
		}
		list = append(list, d)
	}
	return list
}
