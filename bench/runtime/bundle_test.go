package main

import (
	"encoding/json"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestAppletPaths(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"usual", "bin/sh\nusr/bin/awk\nsbin/ip\n", []string{"bin/sh", "usr/bin/awk", "sbin/ip"}},
		{"blank lines and spaces", "\n  bin/ls  \n\n", []string{"bin/ls"}},
		{"busybox itself skipped", "bin/busybox\nbin/true\n", []string{"bin/true"}},
		{"escapes stay inside", "../../etc/passwd\n/usr/bin/env\n", []string{"etc/passwd", "usr/bin/env"}},
		{"root dropped", "/\n..\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appletPaths(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("appletPaths(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBenchConfig(t *testing.T) {
	base := `{"ociVersion":"1.0.2","process":{"terminal":true,"args":["sh"],"cwd":"/","env":["A=1"]},
		"root":{"path":"rootfs","readonly":true},"hostname":"h",
		"linux":{"namespaces":[{"type":"pid"}],"maskedPaths":["/proc/kcore"]}}`
	tests := []struct {
		name    string
		base    string
		wantErr bool
	}{
		{"runc spec", base, false},
		{"no process, root or linux", `{"ociVersion":"1.0.2"}`, false},
		{"not json", `{"process":`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := benchConfig([]byte(tt.base), "/tmp/b/rootfs", "/quilt-bench-1/quilt-0")
			if (err != nil) != tt.wantErr {
				t.Fatalf("benchConfig error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var s specs.Spec
			if err := json.Unmarshal(out, &s); err != nil {
				t.Fatalf("output is not a config: %v", err)
			}
			if s.Process.Terminal || !slices.Equal(s.Process.Args, []string{"/bin/true"}) {
				t.Errorf("process = %+v, want no terminal and /bin/true", s.Process)
			}
			if s.Root.Path != "/tmp/b/rootfs" || s.Linux.CgroupsPath != "/quilt-bench-1/quilt-0" {
				t.Errorf("root %q cgroupsPath %q", s.Root.Path, s.Linux.CgroupsPath)
			}
		})
	}
	// Everything else is left as `spec` wrote it.
	out, err := benchConfig([]byte(base), "/r", "/quilt-bench-1/x")
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	if s.Hostname != "h" || !s.Root.Readonly || !slices.Equal(s.Process.Env, []string{"A=1"}) ||
		len(s.Linux.Namespaces) != 1 || !slices.Equal(s.Linux.MaskedPaths, []string{"/proc/kcore"}) {
		t.Errorf("benchConfig changed unrelated fields: %s", out)
	}
}

func TestSpecDiff(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		limit int
		want  []string
		ok    bool
	}{
		{"formatting differs", `{"ociVersion":"1.0.2","hostname":"h"}`, "{\n\t\"hostname\": \"h\",\n\t\"ociVersion\": \"1.0.2\"\n}", 5, nil, true},
		{"values differ", `{"hostname":"a","ociVersion":"1","process":{"cwd":"/","args":["sh"]}}`,
			`{"hostname":"b","ociVersion":"1","process":{"cwd":"/","args":["true"]}}`, 5, []string{".hostname", ".process.args"}, true},
		{"field only on one side", `{"process":{"cwd":"/"}}`, `{"process":{"cwd":"/","terminal":true}}`, 5, []string{".process.terminal"}, true},
		{"unknown fields ignored", `{"hostname":"a","x-custom":1}`, `{"hostname":"a"}`, 5, nil, true},
		{"limited", `{"hostname":"a","domainname":"a","ociVersion":"1"}`, `{"hostname":"b","domainname":"b","ociVersion":"2"}`, 2,
			[]string{".domainname", ".hostname", "..."}, true},
		{"invalid", `{`, `{}`, 5, nil, false},
	}
	for _, tt := range tests {
		got, ok := specDiff([]byte(tt.a), []byte(tt.b), tt.limit)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("%s: specDiff = %q, %v, want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
