package libquilt

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quilt-runtime/quilt/spec"
)

func writeBundle(t *testing.T, config string, rootfs bool) string {
	t.Helper()
	dir := t.TempDir()
	if rootfs {
		if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func defaultConfig(t *testing.T, edit func(map[string]any)) string {
	t.Helper()
	data, err := json.Marshal(spec.Default(spec.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestLoadBundle(t *testing.T) {
	tests := []struct {
		name    string
		bundle  func(t *testing.T) string
		wantErr string // substring; empty means success
	}{
		{"valid", func(t *testing.T) string { return writeBundle(t, defaultConfig(t, nil), true) }, ""},
		{"missing dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, "no such directory"},
		{"not a dir", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, nil, 0o644)
			return p
		}, "not a directory"},
		{"no config", func(t *testing.T) string { return writeBundle(t, "", true) }, "no config.json"},
		{"malformed", func(t *testing.T) string { return writeBundle(t, "{\n  \"ociVersion\": ,\n}", true) }, "line 2"},
		{"wrong type", func(t *testing.T) string { return writeBundle(t, `{"ociVersion": 3}`, true) }, "ociVersion"},
		{"bad version", func(t *testing.T) string {
			return writeBundle(t, defaultConfig(t, func(m map[string]any) { m["ociVersion"] = "invalid" }), true)
		}, "ociVersion"},
		{"no rootfs", func(t *testing.T) string { return writeBundle(t, defaultConfig(t, nil), false) }, "root.path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.bundle(t)
			s, abs, err := LoadBundle(dir)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("LoadBundle: %v", err)
				}
				if s == nil || !filepath.IsAbs(abs) {
					t.Fatalf("LoadBundle = %v, %q", s, abs)
				}
				return
			}
			if !errors.Is(err, ErrBundle) {
				t.Fatalf("LoadBundle error = %v, want ErrBundle", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("LoadBundle error = %q, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}
