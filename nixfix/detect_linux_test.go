package nixfix

import (
	"fmt"
	"testing"
)

// TestDetect checks R-1 one clause at a time, and that a rootfs that is not
// Nix-like is not walked: detection must cost next to nothing.
func TestDetect(t *testing.T) {
	plain := func(f *fixture) {
		f.file("/bin/busybox", buildELF("", nil, nil), 0o755)
		f.link("/bin/sh", "busybox")
		f.link("/usr/bin/env", "/bin/busybox")
		for i := range 50 {
			f.file(fmt.Sprintf("/usr/share/data/%02d", i), nil, 0o644)
		}
	}
	cases := []struct {
		name  string
		build func(f *fixture)
		args  []string
		nix   bool
	}{
		{"plain busybox", plain, nil, false},
		{"store link outside the detection dirs", func(f *fixture) {
			plain(f)
			f.link("/opt/app", helloP+"/bin/hello")
		}, nil, false},
		{"invalid store names only", func(f *fixture) {
			plain(f)
			f.dir("/nix/store/not-a-store-path")
		}, nil, false},
		{"store path", func(f *fixture) {
			plain(f)
			f.dir(helloP)
		}, nil, true},
		{"link in /etc", func(f *fixture) {
			plain(f)
			f.link("/etc/os-release", sp("etc", "etc-os-release"))
		}, nil, true},
		{"directory link in /", func(f *fixture) {
			f.link("/bin", env+"/bin")
		}, nil, true},
		{"link in /usr/sbin", func(f *fixture) {
			plain(f)
			f.link("/usr/sbin/tool", helloP+"/bin/hello")
		}, nil, true},
		{"store link among many applet links", func(f *fixture) {
			plain(f)
			for _, d := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin"} {
				for i := range 100 {
					f.link(fmt.Sprintf("%s/applet%03d", d, i), "/bin/busybox")
				}
			}
			f.link("/usr/bin/zz", helloP+"/bin/hello")
		}, nil, true},
		{"targets that only look like the store", func(f *fixture) {
			plain(f)
			f.link("/bin/store", "/nix/store")
			f.link("/bin/storeish", "/nix/store-old/x")
			f.link("/sbin/relative", "nix/store/x")
		}, nil, false},
		{"entrypoint interpreter", func(f *fixture) {
			plain(f)
			f.script("/app/run", bashM+"/bin/bash")
		}, []string{"/app/run"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.build(f)
			rep, err := Run(f.root, Options{Mode: ModeCheck, Args: c.args})
			if err != nil {
				t.Fatal(err)
			}
			if rep.NixLike != c.nix {
				t.Fatalf("nixLike = %v, want %v", rep.NixLike, c.nix)
			}
			if !c.nix && (rep.Result != ResultSkipped || rep.Summary.Entries != 0) {
				t.Errorf("not Nix-like: result %s, %d entries walked; want skipped, none", rep.Result, rep.Summary.Entries)
			}
			if c.nix && rep.Summary.Entries == 0 {
				t.Errorf("Nix-like rootfs not walked")
			}
		})
	}
}
