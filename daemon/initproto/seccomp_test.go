package initproto

import (
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
	b := EncodeSeccomp(unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, prog)
	flags, got, err := DecodeSeccomp(b)
	if err != nil || flags != unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW || !slices.Equal(got, prog) {
		t.Fatalf("DecodeSeccomp = %#x, %v, %v", flags, got, err)
	}
	for _, bad := range [][]byte{nil, []byte("QSF1"), b[:len(b)-1], append([]byte("XXXX"), b[4:]...), EncodeSeccomp(0, nil)} {
		if _, _, err := DecodeSeccomp(bad); err == nil {
			t.Errorf("DecodeSeccomp(%q) accepted it", bad)
		}
	}
}
