package network

import (
	"errors"
	"testing"
)

func TestNormalizePort(t *testing.T) {
	for _, tc := range []struct {
		in   Port
		want string // String() of the result, or "" for an error
	}{
		{Port{HostPort: 8080, ContainerPort: 80}, "8080:80/tcp"},
		{Port{HostPort: 53, ContainerPort: 53, Protocol: "udp", HostIP: "127.0.0.1"}, "127.0.0.1:53:53/udp"},
		{Port{HostPort: 1, ContainerPort: 1, HostIP: "0.0.0.0"}, "1:1/tcp"},
		{Port{HostPort: 0, ContainerPort: 80}, ""},
		{Port{HostPort: 80, ContainerPort: 0}, ""},
		{Port{HostPort: 80, ContainerPort: 80, Protocol: "sctp"}, ""},
		{Port{HostPort: 80, ContainerPort: 80, Protocol: "TCP"}, ""},
		{Port{HostPort: 80, ContainerPort: 80, HostIP: "::1"}, ""},
		{Port{HostPort: 80, ContainerPort: 80, HostIP: "localhost"}, ""},
	} {
		got, err := NormalizePort(tc.in)
		switch {
		case tc.want == "" && !errors.Is(err, ErrInvalid):
			t.Errorf("%+v: %v, %v; want an error", tc.in, got, err)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("%+v: %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckPorts(t *testing.T) {
	p := func(ip string, h uint16, proto string) Port {
		return Port{HostIP: ip, HostPort: h, ContainerPort: 1, Protocol: proto}
	}
	for _, tc := range []struct {
		ports []Port
		ok    bool
	}{
		{[]Port{p("", 80, "tcp"), p("", 80, "udp"), p("", 81, "tcp")}, true},
		{[]Port{p("127.0.0.1", 80, "tcp"), p("10.0.0.1", 80, "tcp")}, true},
		{[]Port{p("", 80, "tcp"), p("", 80, "tcp")}, false},
		{[]Port{p("127.0.0.1", 80, "tcp"), p("", 80, "tcp")}, false},
		{[]Port{p("", 80, "udp"), p("10.0.0.1", 80, "udp")}, false},
	} {
		if err := CheckPorts(tc.ports); (err == nil) != tc.ok {
			t.Errorf("%v: %v", tc.ports, err)
		}
	}
}
