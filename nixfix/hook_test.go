package nixfix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseHookState(t *testing.T) {
	tests := []struct {
		name, in   string
		wantBundle string
		wantID     string
		wantPid    int
		wantErr    bool
	}{
		{name: "runc createRuntime", in: `{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":4242,"bundle":"/run/b1","annotations":{"quilt.shell":"always"}}`,
			wantBundle: "/run/b1", wantID: "c1", wantPid: 4242},
		{name: "bundle cleaned", in: `{"id":"c2","status":"created","bundle":"/run//b2/"}`, wantBundle: "/run/b2", wantID: "c2"},
		{name: "relative bundle", in: `{"id":"c","bundle":"b"}`, wantErr: true},
		{name: "no bundle", in: `{"id":"c","pid":1}`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
		{name: "not json", in: `bundle=/x`, wantErr: true},
		{name: "wrong type", in: `{"bundle":7}`, wantErr: true},
		{name: "too large", in: `{"bundle":"/b","id":"` + strings.Repeat("x", maxHookState) + `"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseHookState(strings.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Bundle != tt.wantBundle || st.ID != tt.wantID || st.Pid != tt.wantPid {
				t.Errorf("state = %+v, want bundle %q id %q pid %d", st, tt.wantBundle, tt.wantID, tt.wantPid)
			}
		})
	}
}

func TestHookOptions(t *testing.T) {
	bundle := t.TempDir()
	cfg := `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["/bin/hello"],"cwd":"/"},"annotations":{"quilt.shell":"always"}}`
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := ParseHookState(strings.NewReader(`{"id":"c","status":"creating","pid":1,"bundle":"` + bundle + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	rootfs, o, err := HookOptions(st)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(bundle, "rootfs"); rootfs != want {
		t.Errorf("rootfs = %q, want %q", rootfs, want)
	}
	if o.Install != InstallCopy || o.Shell != ShellAlways || len(o.Args) != 1 || o.Args[0] != "/bin/hello" {
		t.Errorf("options = %+v, want copy install, shell always, args [/bin/hello]", o)
	}
	st.Bundle = filepath.Join(bundle, "missing")
	if _, _, err := HookOptions(st); !errors.Is(err, ErrConfig) {
		t.Errorf("missing config: err = %v, want ErrConfig", err)
	}
}
