package initproto

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSeccompEncoding(t *testing.T) {
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 2, K: 0xc000003e},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	read := func(b []byte) (uint, []unix.SockFilter, error) {
		p := filepath.Join(t.TempDir(), "filter")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return ReadSeccomp(f)
	}
	b := EncodeSeccomp(unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, prog)
	flags, got, err := read(b)
	if err != nil || flags != unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW || !slices.Equal(got, prog) {
		t.Fatalf("ReadSeccomp = %#x, %v, %v", flags, got, err)
	}
	wrongCount := slices.Clone(b)
	wrongCount[8]++
	for _, bad := range [][]byte{nil, []byte("QSF1"), b[:len(b)-1], b[:len(b)-8], wrongCount,
		append([]byte("XXXX"), b[4:]...), EncodeSeccomp(0, nil)} {
		if _, _, err := read(bad); err == nil {
			t.Errorf("ReadSeccomp(%q) accepted it", bad)
		}
	}
}
