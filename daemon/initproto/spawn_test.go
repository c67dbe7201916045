package initproto

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{
		{"a/prog", 0o755}, {"b/prog", 0o755}, {"a/text", 0o644}, {"b/both", 0o644}, {"c/both", 0o700},
		{"work/local", 0o755},
	} {
		p := filepath.Join(dir, f.path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "d", "subdir"), 0o755)
	a, b, c, d := dir+"/a", dir+"/b", dir+"/c", dir+"/d"
	cases := []struct {
		name, path, cwd string
		want            string
		wantErr         error
	}{
		{"prog", a + ":" + b, "", a + "/prog", nil},
		{"prog", b + ":" + a, "", b + "/prog", nil},
		{"prog", "/nonexistent:" + b, "", b + "/prog", nil},
		{"nosuch", a + ":" + b, "", "", ErrNotFound},
		{"text", a, "", "", ErrNotExecutable},
		{"both", b + ":" + c, "", c + "/both", nil}, // a later executable wins over a plain file
		{"subdir", d, "", "", ErrNotFound},          // a directory is no command
		{"local", ":/bin", dir + "/work", "./local", nil},
		{"local", "work", dir, "work/local", nil},
		{"./anything", "", "", "./anything", nil}, // with a slash: left to execve
		{"/bin/x", "", "", "/bin/x", nil},
	}
	for _, tc := range cases {
		got, err := lookPath(tc.name, tc.path, tc.cwd)
		if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("lookPath(%q, %q, %q) = %q, %v; want %q, %v", tc.name, tc.path, tc.cwd, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestExecErrorMessages(t *testing.T) {
	_, err := lookPath("nosuch", "/nonexistent", "")
	if got := err.Error(); got != `exec "nosuch": executable file not found in $PATH` {
		t.Errorf("message %q", got)
	}
	cases := []struct {
		err  error
		want string
	}{
		{&execError{name: "/x", kind: ErrNotFound, err: os.ErrNotExist}, `exec "/x": executable file not found: file does not exist`},
		{&execError{name: "/etc", kind: ErrNotExecutable, err: errors.New("permission denied")}, `exec "/etc": not executable: permission denied`},
		{&execError{name: "sh", err: wrap(errors.New("no such file or directory"), "working directory /x")}, `exec "sh": working directory /x: no such file or directory`},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("message %q, want %q", got, tc.want)
		}
	}
}

func TestEnvValue(t *testing.T) {
	env := []string{"PATHX=no", "PATH=/first", "PATH=/second", "EMPTY="}
	for _, tc := range []struct{ name, def, want string }{
		{"PATH", "d", "/first"},
		{"EMPTY", "d", ""},
		{"NONE", "d", "d"},
		{"PAT", "d", "d"},
	} {
		if got := envValue(env, tc.name, tc.def); got != tc.want {
			t.Errorf("envValue(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
