package nixfix

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a failure-mode rootfs built in a temp dir (modelled on the
// catalogue of SPEC.md section 3), next to a "host" directory that stands
// for the host's files: links in hostile images aim at it, and it must
// never change.
type fixture struct {
	t    *testing.T
	base string // temp dir holding rootfs/ and host/
	root string
	host string
}

func newFixture(t *testing.T) *fixture {
	base := tempDir(t)
	f := &fixture{t: t, base: base, root: filepath.Join(base, "rootfs"), host: filepath.Join(base, "host")}
	if err := os.Mkdir(f.root, 0o755); err != nil {
		t.Fatal(err)
	}
	// The host side: tempting targets for links that escape the rootfs,
	// including a same-name candidate for a missing store path (SEC-11).
	mkTree(t, f.host, "f etc/passwd", "f bin/sh", "d usr/local/bin", "d usr/bin",
		"d nix/store/"+storeBase("host", "hello-2.12.1")+"/bin",
		"f nix/store/"+storeBase("host", "hello-2.12.1")+"/bin/hello")
	return f
}

// storeBase is a deterministic, valid store path name for a seed: the
// seed's sha256 encoded five bits at a time in nixbase32.
func storeBase(seed, name string) string {
	sum := sha256.Sum256([]byte(seed + "\x00" + name))
	var b strings.Builder
	for i := 0; i < storeHashLen; i++ {
		bit := i * 5
		v := (int(sum[bit/8])<<8 | int(sum[bit/8+1])) >> (11 - bit%8) & 31
		b.WriteByte(nixBase32[v])
	}
	return b.String() + "-" + name
}

// sp is the in-root path of the store path storeBase(seed, name).
func sp(seed, name string) string { return StoreDir + "/" + storeBase(seed, name) }

func (f *fixture) abs(p string) string { return filepath.Join(f.root, p) }

func (f *fixture) mkParent(p string) {
	if err := os.MkdirAll(filepath.Dir(f.abs(p)), 0o755); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) dir(p string) {
	if err := os.MkdirAll(f.abs(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) link(p, target string) {
	f.mkParent(p)
	if err := os.Symlink(target, f.abs(p)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) file(p string, data []byte, mode os.FileMode) {
	f.mkParent(p)
	if err := os.WriteFile(f.abs(p), data, mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(f.abs(p), mode); err != nil {
		f.t.Fatal(err)
	}
}

// elf writes a dynamically linked executable.
func (f *fixture) elf(p, interp string, runpath []string, needed ...string) {
	f.file(p, buildELF(interp, runpath, needed), 0o555)
}

func (f *fixture) script(p, interp string) {
	f.file(p, []byte("#!"+interp+"\necho ok\n"), 0o555)
}

// glibc fills a glibc store path: the loader and libc.
func (f *fixture) glibc(store string) {
	f.file(store+"/lib/ld-linux-x86-64.so.2", buildELF("", nil, nil), 0o555)
	f.file(store+"/lib/libc.so.6", buildELF("", nil, nil), 0o444)
}

// bash fills a bash store path with a static bin/bash and bin/sh -> bash.
func (f *fixture) bash(store string) {
	f.file(store+"/bin/bash", buildELF("", nil, nil), 0o555)
	f.link(store+"/bin/sh", "bash")
}

// hello fills a store path with bin/hello linked against glibc.
func (f *fixture) hello(store, glibc string) {
	f.elf(store+"/bin/hello", glibc+"/lib/ld-linux-x86-64.so.2", []string{glibc + "/lib"}, "libc.so.6")
}

// seal makes store objects read-only, as in an unpacked Nix image.
func (f *fixture) seal() {
	store := f.abs(StoreDir)
	if st, err := os.Lstat(store); err != nil || !st.IsDir() {
		return
	}
	filepath.Walk(store, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != store && info.Mode().IsDir() {
			os.Chmod(p, 0o555)
		}
		return nil
	})
}
