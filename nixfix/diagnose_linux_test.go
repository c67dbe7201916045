package nixfix

import (
	"strings"
	"testing"
)

func TestDiagnose(t *testing.T) {
	f := newFixture(t)
	f.glibc(glibc)
	f.bash(bash)
	f.hello(helloP, glibc)
	f.hello(sp("broken", "hello-2.12.1"), glibcM)
	f.link("/bin/hello", helloP+"/bin/hello")
	f.link("/bin/broken", sp("broken", "hello-2.12.1")+"/bin/hello")
	f.link("/bin/dangling", helloM+"/bin/hello")
	f.link("/bin/loop", "loop")
	f.script("/bin/script", bash+"/bin/bash")
	f.script("/bin/bad-script", bashM+"/bin/bash")
	f.script("/bin/script-on-broken", "/bin/broken")
	f.file("/bin/data", []byte("x"), 0o644)
	f.dir("/.quilt/bin")
	f.file("/.quilt/bin/sh", nil, 0)
	f.link("/bin/sh", "../.quilt/bin/sh")
	tests := []struct {
		p, problem, missingStore string
	}{
		{"/bin/hello", "", ""},
		{"hello", "", ""},
		{"/bin/script", "", ""},
		{"/bin/broken", "ELF interpreter " + glibcM + "/lib/ld-linux-x86-64.so.2 is missing in the container (" + glibcM + " does not exist) (broken Nix closure?)", glibcM},
		{"/bin/dangling", "/bin/dangling is missing in the container (" + helloM + " does not exist) (broken Nix closure?)", helloM},
		{"/bin/bad-script", "script interpreter " + bashM + "/bin/bash is missing in the container (" + bashM + " does not exist) (broken Nix closure?)", bashM},
		{"/bin/script-on-broken", "script interpreter /bin/broken: ELF interpreter " + glibcM + "/lib/ld-linux-x86-64.so.2 is missing", glibcM},
		{"/bin/loop", "/bin/loop: too many levels of symbolic links", ""},
		{"/bin/data", "/bin/data is not executable", ""},
		{"/bin/sh", "/bin/sh is the quilt-sh mount point, and quilt-sh is not mounted", ""},
		{"nosuch", "nosuch not found in PATH", ""},
	}
	for _, tt := range tests {
		d, err := Diagnose(f.root, tt.p, []string{"PATH=/bin"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d.String(), tt.problem) || (tt.problem == "") != (d.Problem == "") || d.MissingStorePath != tt.missingStore {
			t.Errorf("Diagnose(%q) = %q (store %q), want %q (store %q)", tt.p, d, d.MissingStorePath, tt.problem, tt.missingStore)
		}
	}
}
