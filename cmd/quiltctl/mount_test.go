package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestParseMounts(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bind := func(src, dst string, ro bool) *quiltv1.Mount {
		return &quiltv1.Mount{Type: "bind", Source: src, Destination: dst, ReadOnly: ro}
	}
	for _, tc := range []struct {
		parse func(string) (*quiltv1.Mount, error)
		spec  string
		want  *quiltv1.Mount
	}{
		{parseVolume, "/srv/data:/data", bind("/srv/data", "/data", false)},
		{parseVolume, "/srv/data:/data:ro", bind("/srv/data", "/data", true)},
		{parseVolume, "/srv/data:/data:ro,rw", bind("/srv/data", "/data", false)},
		{parseVolume, "data:/data/../data/", bind(filepath.Join(cwd, "data"), "/data", false)},
		{parseVolume, "./a/../b:/b", bind(filepath.Join(cwd, "b"), "/b", false)},
		{parseVolume, "/a:data", nil},
		{parseVolume, ":/data", nil},
		{parseVolume, "/a:/b:z", nil},
		{parseVolume, "/a", nil},
		{parseVolume, "/a:/b:ro:x", nil},
		{parseTmpfs, "/run", &quiltv1.Mount{Type: "tmpfs", Destination: "/run"}},
		{parseTmpfs, "/run:size=64m,mode=1777,ro", &quiltv1.Mount{Type: "tmpfs", Destination: "/run", ReadOnly: true, Options: []string{"size=64m", "mode=1777"}}},
		{parseTmpfs, "run", nil},
		{parseTmpfs, "/run:size=1m,,ro", nil},
		{parseMount, "type=bind,source=/etc/hosts,destination=/etc/hosts,readonly", bind("/etc/hosts", "/etc/hosts", true)},
		{parseMount, "type=bind,src=x,target=/x,ro=false", bind(filepath.Join(cwd, "x"), "/x", false)},
		{parseMount, "type=bind,src=x,dst=/x,readonly=1", bind(filepath.Join(cwd, "x"), "/x", true)},
		{parseMount, "type=tmpfs,target=/tmp,tmpfs-size=64m,tmpfs-mode=1777", &quiltv1.Mount{Type: "tmpfs", Destination: "/tmp", Options: []string{"size=64m", "mode=1777"}}},
		{parseMount, "source=/a,target=/b", nil},
		{parseMount, "type=volume,source=a,target=/b", nil},
		{parseMount, "type=bind,target=/b", nil},
		{parseMount, "type=bind,source=/a", nil},
		{parseMount, "type=bind,source=/a,target=/b,tmpfs-size=1m", nil},
		{parseMount, "type=tmpfs,source=/a,target=/b", nil},
		{parseMount, "type=bind,source=/a,target=/b,readonly=maybe", nil},
		{parseMount, "type=bind,source=/a,target=/b,bind-propagation=shared", nil},
		{parseMount, "type=bind,source=,target=/b", nil},
	} {
		got, err := tc.parse(tc.spec)
		if tc.want == nil {
			if !errors.Is(err, errInvalidMount) || got != nil {
				t.Errorf("parse %q = %v, %v; want an invalid mount", tc.spec, got, err)
			}
			continue
		}
		if err != nil || !proto.Equal(got, tc.want) {
			t.Errorf("parse %q = %v, %v; want %s", tc.spec, got, err, prototext.Format(tc.want))
		}
	}
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{"type=bind,source=/a,target=/b,readonly", "type=tmpfs,target=/t,tmpfs-size=1m", "a:/b:ro", "/run:size=1m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (*quiltv1.Mount, error){parseMount, parseVolume, parseTmpfs} {
			m, err := parse(s)
			if err != nil {
				continue
			}
			if !filepath.IsAbs(m.Destination) || m.Type == "bind" && !filepath.IsAbs(m.Source) {
				t.Errorf("parse %q = %v: paths not absolute", s, m)
			}
		}
	})
}
