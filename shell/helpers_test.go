package shell

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/interp"
)

// mkfs creates entries under dir: "d/" a directory, "f=text" a file,
// "l@target" a symlink, "x*=text" an executable file.
func mkfs(t *testing.T, dir string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		var err error
		switch {
		case strings.HasSuffix(e, "/"):
			err = os.MkdirAll(filepath.Join(dir, e), 0o755)
		case strings.IndexByte(e, '@') >= 0 && (strings.IndexByte(e, '=') < 0 || strings.IndexByte(e, '@') < strings.IndexByte(e, '=')):
			name, target, _ := strings.Cut(e, "@")
			p := filepath.Join(dir, name)
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(target, p)
			}
		default:
			name, text, _ := strings.Cut(e, "=")
			mode := os.FileMode(0o644)
			if n, ok := strings.CutSuffix(name, "*"); ok {
				name, mode = n, 0o755
			}
			p := filepath.Join(dir, name)
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, []byte(text), mode)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// tree lists dir as "name" for files and directories ("dir/") and
// "name@target" for symlinks, sorted, for comparing filesystem states.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			rel += "@" + target
		case fi.IsDir():
			rel += "/"
		default:
			data, _ := os.ReadFile(p)
			if len(data) > 0 {
				rel += "=" + string(data)
			}
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// testOptions are options for a shell or utility confined to dir, with a
// PATH that holds nothing, so that every utility is the built-in one.
func testOptions(t *testing.T, dir, stdin string, stdout, stderr *bytes.Buffer) Options {
	t.Helper()
	empty := t.TempDir()
	return Options{
		Stdin:  strings.NewReader(stdin),
		Stdout: stdout,
		Stderr: stderr,
		Env:    []string{"PATH=" + empty, "HOME=" + dir, "LC_ALL=C"},
		Dir:    dir,
	}
}

// exitCode turns a run's error into its exit status.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	if es, ok := errors.AsType[interp.ExitStatus](err); ok {
		return int(es)
	}
	t.Fatalf("run: %v", err)
	return -1
}

// runUtil runs one built-in utility in dir.
func runUtil(t *testing.T, dir, stdin, name string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := RunUtility(context.Background(), name, args, testOptions(t, dir, stdin, &out, &errOut))
	return out.String(), errOut.String(), exitCode(t, err)
}

// runShell runs src with `sh -c` semantics in dir.
func runShell(t *testing.T, dir, stdin, src string, flags ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts := testOptions(t, dir, stdin, &out, &errOut)
	opts.Flags = flags
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = s.RunCommand(context.Background(), src, "sh", nil)
	return out.String(), errOut.String(), exitCode(t, err)
}

// brokenELF returns a minimal ELF64 executable for this machine whose
// program interpreter is interp: execve fails with ENOENT when interp is
// missing, like a Nix binary whose glibc store path is gone.
func brokenELF(interp string) []byte {
	machine := map[string]uint16{"amd64": 62, "arm64": 183, "riscv64": 243, "ppc64le": 21, "s390x": 22}[runtime.GOARCH]
	b := make([]byte, 120, 120+len(interp)+1)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2) // ET_EXEC
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], 0x400000) // entry
	le.PutUint64(b[32:], 64)       // phoff
	le.PutUint16(b[52:], 64)       // ehsize
	le.PutUint16(b[54:], 56)       // phentsize
	le.PutUint16(b[56:], 1)        // phnum
	ph := b[64:]
	le.PutUint32(ph[0:], 3) // PT_INTERP
	le.PutUint32(ph[4:], 4)
	le.PutUint64(ph[8:], 120)
	le.PutUint64(ph[32:], uint64(len(interp)+1))
	le.PutUint64(ph[40:], uint64(len(interp)+1))
	le.PutUint64(ph[48:], 1)
	return append(append(b, interp...), 0)
}
