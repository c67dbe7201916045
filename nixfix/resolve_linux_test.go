package nixfix

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mkTree creates a tree under dir from specs: "d path", "f path" or
// "l path target".
func mkTree(t testing.TB, dir string, specs ...string) {
	t.Helper()
	for _, s := range specs {
		f := strings.SplitN(s, " ", 3)
		p := filepath.Join(dir, f[1])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch f[0] {
		case "d":
			err = os.Mkdir(p, 0o755)
		case "f":
			err = os.WriteFile(p, []byte("x"), 0o755)
		case "l":
			err = os.Symlink(f[2], p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func testRoot(t testing.TB, dir string) *rootDir {
	t.Helper()
	r, err := openRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func TestResolve(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	mkTree(t, base, "d outside/etc", "f outside/etc/passwd")
	mkTree(t, root,
		"d nix/store/"+testHash+"-hello-2.12.1/bin",
		"f nix/store/"+testHash+"-hello-2.12.1/bin/hello",
		"l bin/hello /nix/store/"+testHash+"-hello-2.12.1/bin/hello",
		"l bin/rel ../nix/store/"+testHash+"-hello-2.12.1/bin/hello",
		"l bin/missing /nix/store/1c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-hello-2.12.1/bin/hello",
		"l bin/escape ../../../../../etc/passwd",
		"l bin/hostabs "+filepath.Join(base, "outside/etc/passwd"),
		"l bin/loop-a loop-b", "l bin/loop-b loop-a",
		"l bin/self self",
		"l bin/proc /proc/self/root/etc/shadow",
		"d proc/1",
		"l bin/magic /proc/1/root",
		"l bin/notdir hello/x",
		"l bin/dirlink /nix/store",
		"l bin/empty-dots ./././.",
		"d etc",
	)
	r := testRoot(t, root)
	tests := []struct {
		p        string
		noFollow bool
		want     status
		path     string
		rest     []string
		escape   bool
		proc     bool
		chainLen int
	}{
		{p: "/bin/hello", want: statusOK, path: "/nix/store/" + testHash + "-hello-2.12.1/bin/hello", chainLen: 2},
		{p: "bin/rel", want: statusOK, path: "/nix/store/" + testHash + "-hello-2.12.1/bin/hello", chainLen: 2},
		{p: "/bin/hello", noFollow: true, want: statusOK, path: "/bin/hello", chainLen: 1},
		{p: "/bin/missing", want: statusNoEnt, path: "/nix/store/1c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-hello-2.12.1", rest: []string{"bin", "hello"}, chainLen: 2},
		{p: "/bin/escape", want: statusNoEnt, path: "/etc/passwd", escape: true, chainLen: 2},
		{p: "/bin/hostabs", want: statusNoEnt, path: "/" + strings.Split(base, "/")[1], rest: append(splitIn(base)[1:], "outside", "etc", "passwd"), chainLen: 2},
		{p: "/bin/loop-a", want: statusLoop, path: "/bin/loop-a", chainLen: maxHops}, // the 41st link
		{p: "/bin/self", want: statusLoop, path: "/bin/self", chainLen: maxHops},
		{p: "/bin/proc", want: statusNoEnt, path: "/proc/self", rest: []string{"root", "etc", "shadow"}, proc: true, chainLen: 2},
		{p: "/bin/magic", want: statusMagic, path: "/proc/1/root", proc: true, chainLen: 2},
		{p: "/bin/notdir", want: statusNotDir, path: "/nix/store/" + testHash + "-hello-2.12.1/bin/hello", rest: []string{"x"}, chainLen: 3},
		{p: "/bin/dirlink/../..", want: statusOK, path: "/", chainLen: 2},
		{p: "/../../..", want: statusOK, path: "/", chainLen: 1},
		{p: "/bin/empty-dots", want: statusOK, path: "/bin", chainLen: 2},
		{p: "/bin/hello/", want: statusNotDir, path: "/nix/store/" + testHash + "-hello-2.12.1/bin/hello", rest: []string{"."}, chainLen: 2},
		{p: "/etc/passwd", want: statusNoEnt, path: "/etc/passwd", chainLen: 1},
	}
	for _, tt := range tests {
		got := r.resolve(tt.p, resolveOpts{noFollow: tt.noFollow})
		if got.status != tt.want || got.path != tt.path || !slices.Equal(got.rest, tt.rest) ||
			got.lexicalEscape != tt.escape || got.procMagic != tt.proc || len(got.chain) != tt.chainLen {
			t.Errorf("resolve(%q) = %v %q rest %q escape %v proc %v chain %q", tt.p, got.status, got.path, got.rest,
				got.lexicalEscape, got.procMagic, got.chain)
		}
	}
	// The hop chain names every link target on the way.
	got := r.resolve("/bin/missing", resolveOpts{})
	want := []string{"/bin/missing", "/nix/store/1c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-hello-2.12.1/bin/hello"}
	if !slices.Equal(got.chain, want) {
		t.Errorf("chain = %q, want %q", got.chain, want)
	}
	// through records a lookup of the watched path.
	if !r.resolve("/bin/missing", resolveOpts{through: "/nix/store/1c8ybpmhxilb0xn0b6y0nzcbffgpvs3q-hello-2.12.1"}).through {
		t.Error("through not recorded")
	}
	// keep hands out the parent directory fd and the final name.
	k := r.resolve("/bin/hello", resolveOpts{keep: true})
	defer unix.Close(k.parentFd)
	var st unix.Stat_t
	if err := unix.Fstatat(k.parentFd, k.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Ino != k.st.Ino {
		t.Errorf("kept parent/name %q do not locate the result: %v", k.name, err)
	}
}

// kernelResolve resolves p with openat2 RESOLVE_IN_ROOT, the reference
// semantics.
func kernelResolve(r *rootDir, p string, noFollow bool) (status, unix.Stat_t, error) {
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if noFollow {
		flags |= unix.O_NOFOLLOW
	}
	var st unix.Stat_t
	fd, err := unix.Openat2(r.fd, p, &unix.OpenHow{Flags: flags,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV})
	switch {
	case err == nil:
		defer unix.Close(fd)
		return statusOK, st, unix.Fstat(fd, &st)
	case errors.Is(err, unix.ENOENT):
		return statusNoEnt, st, nil
	case errors.Is(err, unix.ELOOP):
		return statusLoop, st, nil
	case errors.Is(err, unix.ENOTDIR):
		return statusNotDir, st, nil
	case errors.Is(err, unix.EXDEV):
		return statusXDev, st, nil
	}
	return statusError, st, err
}

// fuzzTree builds a small tree from data: up to 12 slots (a, b, c and their
// children) that are absent, directories, files or symlinks to targets made
// of a few components, some of them aimed outside the root. It returns the
// rest of data.
func fuzzTree(t testing.TB, root string, data []byte) []byte {
	names := []string{"a", "b", "c"}
	var slots []string
	slots = append(slots, names...)
	for _, n := range names {
		for _, m := range names {
			slots = append(slots, n+"/"+m)
		}
	}
	pieces := []string{"a", "b", "c", "..", ".", "outside", "secret", ""}
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	for _, s := range slots {
		if len(data) == 0 {
			break
		}
		k := next()
		p := filepath.Join(root, s)
		if st, err := os.Lstat(filepath.Dir(p)); err != nil || !st.IsDir() {
			continue
		}
		switch k % 4 {
		case 1:
			os.Mkdir(p, 0o755)
		case 2:
			os.WriteFile(p, nil, 0o644)
		case 3:
			n := int(k>>2)%3 + 1
			var parts []string
			for range n {
				parts = append(parts, pieces[next()%byte(len(pieces))])
			}
			target := strings.Join(parts, "/")
			if k&0x80 != 0 {
				target = "/" + target
			}
			if target != "" {
				os.Symlink(target, p)
			}
		}
	}
	return data
}

// FuzzResolve checks the userspace resolver against the kernel's openat2
// RESOLVE_IN_ROOT on random trees, and that no result ever lies outside the
// root even though links aim at a sibling directory that exists on the host.
func FuzzResolve(f *testing.F) {
	f.Add([]byte{1, 3 | 0x80, 5, 6, 2, 0, 1, 2}, "a/b")
	f.Add([]byte{3, 0, 3, 1}, "a/../b/.")
	f.Add([]byte{3 | 4, 3, 3, 5, 3, 3, 0}, "a")
	f.Add([]byte{1, 1, 1, 3 | 0x80, 5, 6, 3, 3, 3, 3}, "a/a/x")
	f.Add([]byte{3 | 8, 3, 3, 0, 3 | 4, 3, 0}, "c/")
	f.Fuzz(func(t *testing.T, data []byte, query string) {
		if len(query) > 64 || strings.ContainsRune(query, 0) {
			return
		}
		base := t.TempDir()
		root := filepath.Join(base, "root")
		mkTree(t, base, "d root", "d outside/a", "f outside/secret", "f outside/a/secret")
		fuzzTree(t, root, data)
		r := testRoot(t, root)
		var outside unix.Stat_t
		if err := unix.Stat(filepath.Join(base, "outside"), &outside); err != nil {
			t.Fatal(err)
		}
		for _, noFollow := range []bool{false, true} {
			got := r.resolve(query, resolveOpts{noFollow: noFollow})
			want, wst, err := kernelResolve(r, query, noFollow)
			if errors.Is(err, unix.ENOSYS) {
				t.Skip("no openat2")
			}
			if err != nil {
				t.Fatalf("openat2(%q): %v", query, err)
			}
			if got.status != want {
				t.Fatalf("resolve(%q, noFollow=%v) = %v at %q, kernel says %v", query, noFollow, got.status, got.path, want)
			}
			if !got.ok() {
				continue
			}
			if got.st.Ino != wst.Ino || got.st.Dev != wst.Dev {
				t.Fatalf("resolve(%q) = %q, a different inode than the kernel's", query, got.path)
			}
			if got.st.Dev == outside.Dev && strings.Contains(got.path, "outside") {
				t.Fatalf("resolve(%q) = %q: outside the root", query, got.path)
			}
			// The canonical path holds no symlink but the last component.
			_, cst, err := kernelResolveNoSymlinks(r, got.path)
			if err != nil || cst.Ino != got.st.Ino {
				t.Fatalf("canonical path %q of %q does not resolve without symlinks: %v", got.path, query, err)
			}
		}
	})
}

func kernelResolveNoSymlinks(r *rootDir, p string) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Openat2(r.fd, strings.TrimPrefix(p, "/")+map[bool]string{true: ".", false: ""}[p == "/"],
		&unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return -1, st, err
	}
	defer unix.Close(fd)
	return fd, st, unix.Fstat(fd, &st)
}
