package nixfix

import (
	"strings"
	"testing"
)

func TestParseShebang(t *testing.T) {
	long := "/nix/store/" + testHash + "-" + strings.Repeat("x", 240) + "/bin/sh"
	tests := []struct {
		in         string
		ok         bool
		interp, ar string
	}{
		{"#!/bin/sh\necho", true, "/bin/sh", ""},
		{"#!/nix/store/" + testHash + "-bash-5.2p37/bin/bash\n", true, "/nix/store/" + testHash + "-bash-5.2p37/bin/bash", ""},
		{"#! /usr/bin/env bash\n", true, "/usr/bin/env", "bash"},
		{"#!/usr/bin/env  -S  a b \t\n", true, "/usr/bin/env", "-S  a b"},
		{"#!\t/bin/sh\t-e\n", true, "/bin/sh", "-e"},
		{"#!/bin/sh", true, "/bin/sh", ""}, // the whole file is the line (size < buffer)
		{"#!/bin/sh -x\x00junk\n", true, "/bin/sh", "-x"},
		{"#!\n", false, "", ""},
		{"#!   \n", false, "", ""},
		{"#/bin/sh\n", false, "", ""},
		{"\x7fELF", false, "", ""},
		{"", false, "", ""},
		{"#!" + long + "\n", false, "", ""},                                                  // interpreter cut off by the buffer
		{"#!/bin/sh " + long + "\n", true, "/bin/sh", long[:ShebangMax-1-len("#!/bin/sh ")]}, // argument truncated
	}
	for _, tt := range tests {
		in := []byte(tt.in)
		if len(in) > ShebangMax {
			in = in[:ShebangMax]
		}
		sb, ok := ParseShebang(in)
		if ok != tt.ok || sb.Interpreter != tt.interp || sb.Arg != tt.ar {
			t.Errorf("ParseShebang(%q) = %+v, %v; want %q %q %v", tt.in, sb, ok, tt.interp, tt.ar, tt.ok)
		}
	}
}

func FuzzParseShebang(f *testing.F) {
	for _, s := range []string{"#!/bin/sh\n", "#! /usr/bin/env bash\n", "#!\x00", "#!" + strings.Repeat("a", 300)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sb, ok := ParseShebang(b)
		if !ok {
			return
		}
		if sb.Interpreter == "" || strings.ContainsAny(sb.Interpreter, " \t\n\x00") {
			t.Fatalf("bad interpreter %q from %q", sb.Interpreter, b)
		}
		// Like the kernel's, the argument may end in blanks when a NUL
		// follows them ("#!/bin/sh -x \x00"), but never starts with one.
		if strings.ContainsAny(sb.Arg, "\n\x00") || strings.HasPrefix(sb.Arg, " ") || strings.HasPrefix(sb.Arg, "\t") {
			t.Fatalf("bad argument %q from %q", sb.Arg, b)
		}
	})
}
