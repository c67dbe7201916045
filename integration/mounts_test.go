package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// writable is a script that reports whether `testinit write` works on
// each path, as "PATH:ok" or "PATH:fail".
func writable(paths ...string) string {
	var parts []string
	for _, p := range paths {
		parts = append(parts, fmt.Sprintf("if /bin/testinit write %s >/dev/null 2>&1; then echo %s:ok; else echo %s:fail; fi", p, p, p))
	}
	return strings.Join(parts, "; ")
}

func tmpfs(dest string) specs.Mount {
	return specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}}
}

// TestMounts checks a read-only and a writable rootfs, a tmpfs mount and
// read-write and read-only bind mounts of host directories.
func TestMounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		script string
		edit   func(s *specs.Spec, host string)
		want   []string
		// hostFile, when set, must exist in the host directory afterwards.
		hostFile string
	}{
		{
			name:   "readonly rootfs",
			script: writable("/f", "/tmp/f"),
			edit: func(s *specs.Spec, _ string) {
				s.Root.Readonly = true
				s.Mounts = append(s.Mounts, tmpfs("/tmp"))
			},
			want: []string{"/f:fail", "/tmp/f:ok"},
		},
		{
			name:   "writable rootfs",
			script: writable("/f"),
			edit:   func(s *specs.Spec, _ string) { s.Root.Readonly = false },
			want:   []string{"/f:ok"},
		},
		{
			name:   "bind rw",
			script: writable("/data/new") + "; cat /data/in",
			edit: func(s *specs.Spec, host string) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: host, Options: []string{"rbind", "rw"}})
			},
			want:     []string{"/data/new:ok", "from the host"},
			hostFile: "new",
		},
		{
			name:   "bind ro",
			script: writable("/data/new") + "; cat /data/in",
			edit: func(s *specs.Spec, host string) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: host, Options: []string{"rbind", "ro"}})
			},
			want: []string{"/data/new:fail", "from the host"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			host := t.TempDir()
			mustWrite(t, filepath.Join(host, "in"), "from the host\n")
			b := h.bundle(shell(tc.script), func(s *specs.Spec) { tc.edit(s, host) })
			r := h.runFg(b, h.id())
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			lines := strings.Split(r.stdout, "\n")
			for _, w := range tc.want {
				if !contains(lines, w) {
					t.Errorf("output has no line %q:\n%s", w, r.stdout)
				}
			}
			_, err := os.Stat(filepath.Join(host, "new"))
			if (tc.hostFile != "") != (err == nil) {
				t.Errorf("host dir after the container: new exists=%v, want %v", err == nil, tc.hostFile != "")
			}
			if _, err := os.Stat(filepath.Join(b.Dir, "rootfs", "f")); err == nil && tc.name == "readonly rootfs" {
				t.Error("the read-only rootfs was written")
			}
		})
	}
}
