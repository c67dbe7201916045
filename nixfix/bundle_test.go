package nixfix

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestBundleOptions(t *testing.T) {
	tests := []struct {
		name, config string
		rootfs       string // relative to the bundle, "" for an error
		args         []string
		mode         Mode
	}{
		{"relative root", `{"root":{"path":"rootfs"},"process":{"args":["/bin/hello","hi"],"env":["PATH=/bin"],"cwd":"/tmp"},
			"annotations":{"quilt.nixfix":"check"}}`, "rootfs", []string{"/bin/hello", "hi"}, ModeCheck},
		{"absolute root", `{"root":{"path":"/abs/rootfs"}}`, "/abs/rootfs", nil, ""},
		{"no root", `{"process":{"args":["sh"]}}`, "", nil, ""},
		{"bad json", `{"root":`, "", nil, ""},
		{"bad annotation", `{"root":{"path":"r"},"annotations":{"quilt.shell":"perhaps"}}`, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			rootfs, o, err := BundleOptions(dir)
			if tt.rootfs == "" {
				if !errors.Is(err, ErrConfig) {
					t.Errorf("BundleOptions = %v, want ErrConfig", err)
				}
				return
			}
			want := tt.rootfs
			if !filepath.IsAbs(want) {
				want = filepath.Join(dir, want)
			}
			if err != nil || rootfs != want || !slices.Equal(o.Args, tt.args) || o.Mode != tt.mode {
				t.Errorf("BundleOptions = %q %+v %v", rootfs, o, err)
			}
		})
	}
	if _, _, err := BundleOptions(t.TempDir()); !errors.Is(err, ErrConfig) {
		t.Errorf("missing config.json: %v, want ErrConfig", err)
	}
}
