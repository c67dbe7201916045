package initproto

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestExitStatusJSON checks that the hand-written encoding quilt-init uses
// is what encoding/json makes of the same value.
func TestExitStatusJSON(t *testing.T) {
	for _, st := range []ExitStatus{
		{ExitCode: 0, Pid: 1234, Finished: time.Date(2026, 11, 28, 13, 50, 0, 123456789, time.UTC)},
		{ExitCode: 143, Signal: 15, Pid: 7, Finished: time.Date(2026, 11, 28, 13, 50, 0, 0, time.UTC)},
		{ExitCode: 127, Finished: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("", 3600))},
	} {
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON = %s, want %s", got, want)
		}
	}
}

func TestReadExitStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name    string
		path    string
		want    *ExitStatus
		wantErr error
	}{
		{"missing", filepath.Join(dir, "nosuch"), nil, os.ErrNotExist},
		{"empty", write("empty", ""), nil, os.ErrNotExist},
		{"garbage", write("garbage", "{"), nil, ErrMalformed},
		{"status", write("ok", `{"exitCode":137,"signal":9,"pid":42,"finished":"2026-11-28T13:50:00.5Z"}`),
			&ExitStatus{ExitCode: 137, Signal: 9, Pid: 42, Finished: time.Date(2026, 11, 28, 13, 50, 0, 5e8, time.UTC)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadExitStatus(tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ExitCode != tc.want.ExitCode || got.Signal != tc.want.Signal || got.Pid != tc.want.Pid || !got.Finished.Equal(tc.want.Finished) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWriteExitStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := ExitStatus{ExitCode: 3, Pid: 99, Finished: time.Now().Round(0)}
	if err := writeExitStatus(f, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExitStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExitCode != want.ExitCode || got.Signal != 0 || got.Pid != want.Pid || !got.Finished.Equal(want.Finished) {
		t.Errorf("read back %+v, want %+v", got, want)
	}
}
