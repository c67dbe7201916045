package main

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestParsePublish(t *testing.T) {
	pm := func(ip string, h, c uint32, p string) *quiltv1.PortMapping {
		return &quiltv1.PortMapping{HostIp: ip, HostPort: h, ContainerPort: c, Protocol: p}
	}
	for _, tc := range []struct {
		spec string
		want *quiltv1.PortMapping
	}{
		{"8080:80", pm("", 8080, 80, "tcp")},
		{"8080:80/tcp", pm("", 8080, 80, "tcp")},
		{"5353:53/udp", pm("", 5353, 53, "udp")},
		{"127.0.0.1:8080:80", pm("127.0.0.1", 8080, 80, "tcp")},
		{"0.0.0.0:1:65535/udp", pm("0.0.0.0", 1, 65535, "udp")},
		{"80", nil},
		{"0:80", nil},
		{"80:0", nil},
		{"65536:80", nil},
		{"-1:80", nil},
		{"a:80", nil},
		{"80:80/sctp", nil},
		{"80:80/", nil},
		{"80:80/tcp/udp", nil},
		{"localhost:80:80", nil},
		{"::1:80:80", nil},
		{"[::1]:80:80", nil},
		{"1.2.3.4:5:6:7", nil},
		{"8000-8010:80", nil},
		{"", nil},
	} {
		got, err := parsePublish(tc.spec)
		switch {
		case tc.want == nil && (err == nil || !errors.Is(err, errInvalidPublish)):
			t.Errorf("%q: %v, %v; want an invalid-publish error", tc.spec, got, err)
		case tc.want != nil && (err != nil || !proto.Equal(got, tc.want)):
			t.Errorf("%q: %v, %v; want %v", tc.spec, got, err, tc.want)
		}
	}
}

func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{"8080:80", "127.0.0.1:53:53/udp", "::", "1:2:3:4", "/tcp", "99999:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := parsePublish(spec)
		if err != nil {
			return
		}
		if p.HostPort == 0 || p.HostPort > 65535 || p.ContainerPort == 0 || p.ContainerPort > 65535 ||
			(p.Protocol != "tcp" && p.Protocol != "udp") {
			t.Fatalf("%q: accepted as %v", spec, p)
		}
		// What it accepted reads back the same.
		again, err := parsePublish(portText(p))
		if err != nil || !proto.Equal(again, p) {
			t.Fatalf("%q -> %v -> %q -> %v, %v", spec, p, portText(p), again, err)
		}
	})
}

func TestCheckNetwork(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"", true}, {"none", true}, {"host", true}, {"bridge", true}, {"back-end_1.x", true},
		{"-x", false}, {"a/b", false}, {"a b", false}, {"x:y", false}, {string(make([]byte, 65)), false},
	} {
		if err := checkNetwork(tc.name); (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.name, err)
		}
	}
}
