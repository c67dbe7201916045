package shell

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGetopt(t *testing.T) {
	cases := []struct {
		args     []string
		set      string // options set, in order of the flags string "abcn"
		n        string // value of -n
		operands []string
		err      bool
	}{
		{args: nil, operands: nil},
		{args: []string{"-ab", "x"}, set: "ab", operands: []string{"x"}},
		{args: []string{"-a", "--", "-b"}, set: "a", operands: []string{"-b"}},
		{args: []string{"-", "-a"}, operands: []string{"-", "-a"}},
		{args: []string{"-n5", "x"}, set: "n", n: "5", operands: []string{"x"}},
		{args: []string{"-an", "5"}, set: "an", n: "5", operands: nil},
		{args: []string{"x", "-a"}, operands: []string{"x", "-a"}},
		{args: []string{"-n"}, err: true},
		{args: []string{"-z"}, err: true},
	}
	for _, tc := range cases {
		o, ops, err := getopt(tc.args, "abc", "n")
		if (err != nil) != tc.err {
			t.Errorf("getopt(%q) error = %v, want error %v", tc.args, err, tc.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("getopt(%q) error %v is not ErrUsage", tc.args, err)
			}
			continue
		}
		set := ""
		for _, c := range []byte("abcn") {
			if o.has(c) {
				set += string(c)
			}
		}
		n, _ := o.value('n')
		if set != tc.set || n != tc.n || !reflect.DeepEqual(ops, tc.operands) {
			t.Errorf("getopt(%q) = %q, n=%q, %q; want %q, n=%q, %q", tc.args, set, n, ops, tc.set, tc.n, tc.operands)
		}
	}
}

func TestParseMode(t *testing.T) {
	cases := []struct {
		spec      string
		old       uint32
		dir       bool
		umask     uint32
		want      uint32
		wantError bool
	}{
		{spec: "755", old: 0o600, want: 0o755},
		{spec: "04755", old: 0, want: 0o4755},
		{spec: "u+x", old: 0o644, want: 0o744},
		{spec: "+x", old: 0o644, umask: 0o022, want: 0o755},
		{spec: "+w", old: 0o444, umask: 0o022, want: 0o644},
		{spec: "a+w", old: 0o444, umask: 0o022, want: 0o666},
		{spec: "go-rwx", old: 0o755, want: 0o700},
		{spec: "u=rw,go=r", old: 0o777, want: 0o644},
		{spec: "g=u", old: 0o750, want: 0o770},
		{spec: "o=", old: 0o757, want: 0o750},
		{spec: "a+X", old: 0o644, want: 0o644},
		{spec: "a+X", old: 0o744, want: 0o755},
		{spec: "a+X", old: 0o600, dir: true, want: 0o711},
		{spec: "u+s,+t", old: 0o755, want: 0o5755},
		{spec: "u-x+w", old: 0o500, want: 0o600},
		{spec: "g=", old: 0o2770, dir: true, want: 0o2700},
		{spec: "", wantError: true},
		{spec: "u", wantError: true},
		{spec: "u+q", wantError: true},
		{spec: "x+r", wantError: true},
		{spec: "17777", wantError: true},
		{spec: "8", wantError: true},
	}
	for _, tc := range cases {
		got, err := parseMode(tc.spec, tc.old, tc.dir, tc.umask)
		if (err != nil) != tc.wantError {
			t.Errorf("parseMode(%q, %o) error = %v, want error %v", tc.spec, tc.old, err, tc.wantError)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parseMode(%q, %o, dir=%v, umask=%o) = %o, want %o", tc.spec, tc.old, tc.dir, tc.umask, got, tc.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	cases := []struct {
		argv []string
		want Invocation
		err  bool
	}{
		{argv: []string{"sh"}, want: Invocation{Mode: ModeStdin, Args: []string{}}},
		{argv: []string{"/bin/sh", "-c", "echo", "n", "a"}, want: Invocation{Mode: ModeCommand, Command: "echo", Name: "n", Args: []string{"a"}}},
		{argv: []string{"sh", "-ec", "x"}, want: Invocation{Mode: ModeCommand, Command: "x", Flags: []string{"-e"}, Args: []string{}}},
		{argv: []string{"sh", "-e", "-o", "pipefail", "-x", "f.sh", "-e"},
			want: Invocation{Mode: ModeFile, File: "f.sh", Flags: []string{"-e", "-o", "pipefail", "-x"}, Args: []string{"-e"}}},
		{argv: []string{"sh", "+x", "--", "f"}, want: Invocation{Mode: ModeFile, File: "f", Flags: []string{"+x"}, Args: []string{}}},
		{argv: []string{"sh", "-s", "a", "b"}, want: Invocation{Mode: ModeStdin, Args: []string{"a", "b"}}},
		{argv: []string{"-sh"}, want: Invocation{Mode: ModeStdin, Login: true, Args: []string{}}},
		{argv: []string{"bash", "-il"}, want: Invocation{Mode: ModeStdin, Interactive: true, Login: true, Args: []string{}}},
		{argv: []string{"/usr/bin/env", "-i", "x"}, want: Invocation{Mode: ModeUtility, Utility: "env", Args: []string{"-i", "x"}}},
		{argv: []string{"ls"}, want: Invocation{Mode: ModeUtility, Utility: "ls", Args: []string{}}},
		{argv: []string{"quilt-sh", "cat", "f"}, want: Invocation{Mode: ModeUtility, Utility: "cat", Args: []string{"f"}}},
		{argv: []string{"quilt-sh", "--list"}, want: Invocation{Mode: ModeList}},
		{argv: []string{"sh", "cat"}, want: Invocation{Mode: ModeFile, File: "cat", Args: []string{}}},
		{argv: []string{"sh", "-c"}, err: true},
		{argv: []string{"sh", "-o"}, err: true},
		{argv: []string{"sh", "-Q"}, err: true},
		{argv: nil, err: true},
	}
	for _, tc := range cases {
		got, err := ParseArgs(tc.argv)
		if (err != nil) != tc.err {
			t.Errorf("ParseArgs(%q) error = %v, want error %v", tc.argv, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if got.Args == nil {
			got.Args = []string{}
		}
		if tc.want.Args == nil && tc.want.Mode != ModeList {
			tc.want.Args = []string{}
		}
		if tc.want.Mode == ModeList {
			got.Args = nil
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseArgs(%q) = %+v, want %+v", tc.argv, got, tc.want)
		}
	}
}

func TestParseShebang(t *testing.T) {
	cases := []struct {
		head, interp, arg string
		ok                bool
	}{
		{"#!/bin/sh\necho", "/bin/sh", "", true},
		{"#! /usr/bin/env  bash \nx", "/usr/bin/env", "bash", true},
		{"#!/bin/sh -e -u\n", "/bin/sh", "-e -u", true},
		{"#!/bin/bash\t-x\r\n", "/bin/bash", "-x", true},
		{"#!\n", "", "", false},
		{"echo", "", "", false},
		{"#!/bin/sh" + strings.Repeat("x", 300), "/bin/sh" + strings.Repeat("x", 247), "", true},
	}
	for _, tc := range cases {
		interp, arg, ok := parseShebang([]byte(tc.head))
		if interp != tc.interp || arg != tc.arg || ok != tc.ok {
			t.Errorf("parseShebang(%q) = %q, %q, %v; want %q, %q, %v", tc.head, interp, arg, ok, tc.interp, tc.arg, tc.ok)
		}
	}
}

func TestELFInterp(t *testing.T) {
	got, err := elfInterp(bytes.NewReader(brokenELF("/nix/store/x-glibc/lib/ld.so")))
	if err != nil || got != "/nix/store/x-glibc/lib/ld.so" {
		t.Errorf("elfInterp(crafted) = %q, %v", got, err)
	}
	// The test binary itself is a real ELF file: static (no interpreter)
	// or dynamic with an interpreter that exists.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	interp, err := elfInterp(f)
	if err != nil {
		t.Fatalf("elfInterp(%s): %v", self, err)
	}
	if interp != "" {
		if _, err := os.Stat(interp); err != nil {
			t.Errorf("elfInterp(%s) = %q, which does not exist", self, interp)
		}
	}
	truncated := brokenELF("/x")[:70]
	if _, err := elfInterp(bytes.NewReader(truncated)); err == nil {
		t.Error("elfInterp(truncated) succeeded")
	}
}

func TestDiagnose(t *testing.T) {
	dir := t.TempDir()
	mkfs(t, dir, "ok*=#!/bin/sh\n", "elf*="+string(brokenELF("/nonexistent/ld.so")), "dangling@nowhere",
		"loop@loop", "sh*=#!/nonexistent/sh -e\n", "bin/env@nowhere", "env*=#!"+dir+"/bin/env bash\n", "py*=#!/nonexistent/python\n")
	cases := []struct {
		name, reason, shell, arg string
	}{
		{"ok", "", "", ""},
		{"elf", "ELF interpreter /nonexistent/ld.so missing", "", ""},
		{"dangling", "dangling symlink: " + dir + "/nowhere missing", "", ""},
		{"loop", "symlink loop", "", ""},
		{"sh", "#! interpreter /nonexistent/sh missing", "/nonexistent/sh", "-e"},
		{"py", "#! interpreter /nonexistent/python missing", "", ""},
		{"env", "#! interpreter " + dir + "/bin/env missing", "bash", ""},
	}
	for _, tc := range cases {
		d := diagnose(filepath.Join(dir, tc.name))
		if !d.exists || d.reason != tc.reason || d.shell != tc.shell || d.shellArg != tc.arg {
			t.Errorf("diagnose(%s) = %+v, want reason %q, shell %q %q", tc.name, d, tc.reason, tc.shell, tc.arg)
		}
	}
	if d := diagnose(filepath.Join(dir, "absent")); d.exists {
		t.Errorf("diagnose(absent) = %+v, want exists false", d)
	}
}
