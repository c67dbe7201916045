package libquilt

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		ok   bool
	}{
		{"TERM", unix.SIGTERM, true}, {"SIGTERM", unix.SIGTERM, true}, {"15", unix.SIGTERM, true},
		{"kill", unix.SIGKILL, true}, {"9", unix.SIGKILL, true}, {"USR1", unix.SIGUSR1, true},
		{"FOO", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"65", 0, false}, {"", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseSignal(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
