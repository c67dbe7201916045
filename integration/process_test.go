package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestProcessConfig runs testinit under configs that set one part of the
// process each, and checks what the process sees.
func TestProcessConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  []string
		edit  func(*specs.Spec)
		setup func(rootfs string) error
		want  []string // lines the output must hold
	}{
		{
			name: "user",
			args: testinit("id"),
			edit: func(s *specs.Spec) {
				s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{20, 10}}
			},
			want: []string{"uid=1000 gid=1001 groups=10,20"},
		},
		{
			name: "root",
			args: testinit("id"),
			want: []string{"uid=0 gid=0 groups="},
		},
		{
			name:  "cwd",
			args:  testinit("cwd"),
			edit:  func(s *specs.Spec) { s.Process.Cwd = "/srv/app" },
			setup: func(rootfs string) error { return os.MkdirAll(filepath.Join(rootfs, "srv/app"), 0o755) },
			want:  []string{"/srv/app"},
		},
		{
			name: "env",
			args: testinit("env"),
			edit: func(s *specs.Spec) {
				s.Process.Env = []string{"PATH=/bin", "QUILT_A=1", "QUILT_B=two words"}
			},
			want: []string{"PATH=/bin", "QUILT_A=1", "QUILT_B=two words"},
		},
		{
			name: "hostname",
			args: testinit("hostname"),
			edit: func(s *specs.Spec) { s.Hostname = "quilt-it" },
			want: []string{"quilt-it"},
		},
		{
			name: "no terminal",
			args: testinit("isatty"),
			want: []string{"stdin=notty stdout=notty"},
		},
		{
			name: "capabilities",
			args: testinit("caps"),
			edit: func(s *specs.Spec) {
				caps := []string{"CAP_CHOWN", "CAP_KILL", "CAP_SETUID"}
				s.Process.Capabilities = &specs.LinuxCapabilities{
					Bounding: append(caps, "CAP_NET_RAW"), Effective: caps, Permitted: caps,
				}
			},
			want: []string{
				"CapEff=" + capMask(unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_SETUID),
				"CapPrm=" + capMask(unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_SETUID),
				"CapBnd=" + capMask(unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_SETUID, unix.CAP_NET_RAW),
				"CapAmb=" + capMask(),
			},
		},
		{
			name: "rlimits lowered",
			// The shell's limits: Go raises testinit's own soft NOFILE.
			args: shell("/bin/testinit rlimits $$; exit $?"),
			edit: func(s *specs.Spec) {
				s.Process.Rlimits = []specs.POSIXRlimit{
					{Type: "RLIMIT_NOFILE", Soft: 256, Hard: 512},
					{Type: "RLIMIT_CORE", Soft: 4096, Hard: 8192},
					{Type: "RLIMIT_NPROC", Soft: 300, Hard: 400},
				}
			},
			want: []string{"RLIMIT_NOFILE 256 512", "RLIMIT_CORE 4096 8192", "RLIMIT_NPROC 300 400"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			var edits []func(*specs.Spec)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			b := h.bundle(tc.args, edits...)
			if tc.setup != nil {
				if err := tc.setup(filepath.Join(b.Dir, "rootfs")); err != nil {
					t.Fatal(err)
				}
			}
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
		})
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// capMask formats capabilities as /proc/PID/status does.
func capMask(caps ...int) string {
	var m uint64
	for _, c := range caps {
		m |= 1 << uint(c)
	}
	return fmt.Sprintf("%016x", m)
}

// TestCapabilityEnforced checks that a dropped capability is really gone:
// chown fails without CAP_CHOWN and works with it.
func TestCapabilityEnforced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		caps []string
		ok   bool
	}{
		{[]string{"CAP_KILL"}, false},
		{[]string{"CAP_KILL", "CAP_CHOWN"}, true},
	} {
		t.Run(strings.Join(tc.caps, "+"), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := h.bundle(shell("/bin/testinit write /tmp/f && /bin/testinit chown /tmp/f 1 1"), func(s *specs.Spec) {
				s.Process.Capabilities = &specs.LinuxCapabilities{
					Bounding: tc.caps, Effective: tc.caps, Permitted: tc.caps,
				}
				s.Mounts = append(s.Mounts, tmpfs("/tmp"))
			})
			r := h.runFg(b, h.id())
			if tc.ok && (r.code != 0 || !strings.Contains(r.stdout, "chowned /tmp/f")) {
				t.Errorf("chown with CAP_CHOWN failed: %v", r)
			}
			if !tc.ok && (r.code != 1 || !strings.Contains(r.stderr, "operation not permitted")) {
				t.Errorf("chown without CAP_CHOWN: %v\nwant exit 1, operation not permitted", r)
			}
		})
	}
}
