package main

import (
	"errors"
	"os"
	"slices"
	"testing"
)

const rollup = `55d25192b000-7fff0ef42000 ---p 00000000 00:00 0                          [rollup]
Rss:                1708 kB
Pss:                 269 kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
Shared_Clean:       1552 kB
Shared_Dirty:          0 kB
Private_Clean:        44 kB
Private_Dirty:       112 kB
Referenced:         1708 kB
Swap:                  0 kB
`

func TestParseRollup(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want memUsage
		err  bool
	}{
		{"kernel 6.x", rollup, memUsage{RSS: 1708, PSS: 269, USS: 156}, false},
		{"no private lines", "Rss: 10 kB\nPss: 5 kB\n", memUsage{}, true},
		{"not a number", "Rss: x kB\nPss: 5 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n", memUsage{}, true},
		{"other unit", "Rss: 10 MB\nPss: 5 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n", memUsage{}, true},
		{"empty", "", memUsage{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRollup(tt.in)
			if tt.err {
				if !errors.Is(err, ErrOutput) {
					t.Errorf("parseRollup = %+v, %v; want ErrOutput", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseRollup = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestReadMemSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/smaps_rollup"); err != nil {
		t.Skip("no smaps_rollup:", err)
	}
	m, err := readMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.USS <= 0 || m.PSS < m.USS || m.RSS < m.PSS {
		t.Errorf("own memory %+v: want 0 < USS <= PSS <= RSS", m)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		in   string
		comm string
		ppid int
		err  bool
	}{
		{"18333 (cat) R 18303 18303 4037 0 -1", "cat", 18303, false},
		{"42 (containerd-shim) S 1 42 42 0", "containerd-shim", 1, false},
		{"7 (a) b (c)) S 99 7 7", "a) b (c)", 99, false},
		{"7 (x) S", "", 0, true},
		{"7 x S 1", "", 0, true},
		{"7 (x) S one", "", 0, true},
	}
	for _, tt := range tests {
		comm, ppid, err := parseStat(tt.in)
		if tt.err != (err != nil) || comm != tt.comm || ppid != tt.ppid {
			t.Errorf("parseStat(%q) = %q, %d, %v; want %q, %d, error %v", tt.in, comm, ppid, err, tt.comm, tt.ppid, tt.err)
		}
	}
}

func TestTaskPid(t *testing.T) {
	list := "TASK           PID      STATUS    \nbench-mem-1    4242     RUNNING\nbench-mem-10   4343     RUNNING\nbench-exec     0        STOPPED\n"
	if pid, err := taskPid(list, "bench-mem-1"); err != nil || pid != 4242 {
		t.Errorf("taskPid bench-mem-1 = %d, %v; want 4242", pid, err)
	}
	for _, id := range []string{"bench-mem-2", "bench-exec", "PID"} {
		if pid, err := taskPid(list, id); !errors.Is(err, ErrOutput) {
			t.Errorf("taskPid %s = %d, %v; want ErrOutput", id, pid, err)
		}
	}
}

func TestMountsBelow(t *testing.T) {
	info := `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:26 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory
90 22 0:50 / /tmp/d/root/a rw - overlay overlay rw
91 90 0:51 / /tmp/d/b rw - tmpfs tmpfs rw
92 22 0:52 / /tmp/dd rw - tmpfs tmpfs rw
93 22 0:53 / /tmp/d rw - tmpfs tmpfs rw
`
	if got, want := mountsBelow(info, "/tmp/d"), []string{"/tmp/d/root/a", "/tmp/d/b"}; !slices.Equal(got, want) {
		t.Errorf("mountsBelow = %q, want %q", got, want)
	}
}
