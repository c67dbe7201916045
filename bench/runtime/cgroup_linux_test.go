package main

import (
	"errors"
	"slices"
	"testing"
)

func TestCgroupMounts(t *testing.T) {
	info := `22 1 0:21 / /proc rw,relatime - proc proc rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 30 0:38 / /mnt/with\040space rw - cgroup2 none rw
garbage line
`
	want := []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/mnt/with space"}
	if got := cgroupMounts(info); !slices.Equal(got, want) {
		t.Errorf("cgroupMounts = %q, want %q", got, want)
	}
}

func TestUnescapeOctal(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/a\040b`, "/a b"},
		{`/a\134b`, `/a\b`},
		{`/tab\011`, "/tab\t"},
		{`/short\04`, `/short\04`},
		{`/not\xyz`, `/not\xyz`},
		{`/plain`, "/plain"},
	}
	for _, tt := range tests {
		if got := unescapeOctal(tt.in); got != tt.want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRemoveCgroupParentRefusesForeign(t *testing.T) {
	for _, parent := range []string{"", "/", "/system.slice", "/quilt-bench-1/../..", "/quilt-bench-1/child"} {
		if err := removeCgroupParent(parent); !errors.Is(err, ErrForeignCgroup) {
			t.Errorf("removeCgroupParent(%q) = %v, want ErrForeignCgroup", parent, err)
		}
	}
}
