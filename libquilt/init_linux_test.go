package libquilt

import (
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestWithInitGOMAXPROCS(t *testing.T) {
	cases := []struct {
		name    string
		oneProc bool
		before  string // "-" for unset
		during  string
	}{
		{"off", false, "-", "-"},
		{"unset", true, "-", "1"},
		{"set by the caller", true, "4", "4"},
		{"set empty by the caller", true, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(gomaxprocs, "x") // restored after the test
			if c.before == "-" {
				os.Unsetenv(gomaxprocs)
			} else {
				os.Setenv(gomaxprocs, c.before)
			}
			get := func() string {
				v, ok := os.LookupEnv(gomaxprocs)
				if !ok {
					return "-"
				}
				return v
			}
			var during string
			err := withInitGOMAXPROCS(c.oneProc, func() error {
				during = get()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if during != c.during {
				t.Errorf("during start: %q, want %q", during, c.during)
			}
			if after := get(); after != c.before {
				t.Errorf("after start: %q, want %q as before", after, c.before)
			}
		})
	}
}

func TestWithOwnEnv(t *testing.T) {
	t.Setenv("QUILT_TEST_HOOK_ENV", "1")
	in := []specs.Hook{{Path: "/a"}, {Path: "/b", Env: []string{"X=1"}}, {Path: "/c", Env: []string{}}}
	out := withOwnEnv(in)
	if !slices.Contains(out[0].Env, "QUILT_TEST_HOOK_ENV=1") {
		t.Errorf("a hook without env did not get this process's environment: %q", out[0].Env)
	}
	if !slices.Equal(out[1].Env, []string{"X=1"}) || out[2].Env == nil || len(out[2].Env) != 0 {
		t.Errorf("explicit environments changed: %q, %q", out[1].Env, out[2].Env)
	}
	if in[0].Env != nil {
		t.Errorf("the caller's hooks changed")
	}
}
