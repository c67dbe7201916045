package main

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

var (
	errInvalidPublish = errors.New("want [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], such as 8080:80 or 127.0.0.1:5353:53/udp")
	errInvalidNetwork = errors.New("want none, host, bridge or a network's name (letters, digits and _ . -)")
)

// parsePublish reads a -p value: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTO].
func parsePublish(spec string) (*quiltv1.PortMapping, error) {
	rest, proto, hasProto := strings.Cut(spec, "/")
	switch {
	case !hasProto:
		proto = "tcp"
	case proto == "tcp" || proto == "udp":
	default:
		return nil, fmt.Errorf("%q: protocol %q: %w", spec, proto, errInvalidPublish)
	}
	parts := strings.Split(rest, ":")
	var hostIP string
	switch len(parts) {
	case 2:
	case 3:
		a, err := netip.ParseAddr(parts[0])
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("%q: host IP %q is not an IPv4 address: %w", spec, parts[0], errInvalidPublish)
		}
		hostIP, parts = a.String(), parts[1:]
	default:
		return nil, fmt.Errorf("%q: %w", spec, errInvalidPublish)
	}
	port := func(s, what string) (uint32, error) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("%q: %s %q is not a port (1-65535): %w", spec, what, s, errInvalidPublish)
		}
		return uint32(n), nil
	}
	hp, err := port(parts[0], "host port")
	if err != nil {
		return nil, err
	}
	cp, err := port(parts[1], "container port")
	if err != nil {
		return nil, err
	}
	return &quiltv1.PortMapping{HostIp: hostIP, HostPort: hp, ContainerPort: cp, Protocol: proto}, nil
}

// networkNameRE is quiltd's rule for network names, compiled when first
// needed: every quiltctl command would pay for it at start.
var networkNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)
})

// checkNetwork checks a --network value: a mode or a network's name.
func checkNetwork(name string) error {
	if name == "" || networkNameRE().MatchString(name) {
		return nil
	}
	return fmt.Errorf("%q: %w", name, errInvalidNetwork)
}

// portText shows a mapping as -p takes it, the protocol always.
func portText(p *quiltv1.PortMapping) string {
	s := fmt.Sprintf("%d:%d/%s", p.GetHostPort(), p.GetContainerPort(), cmpOr(p.GetProtocol(), "tcp"))
	if p.GetHostIp() != "" {
		s = p.GetHostIp() + ":" + s
	}
	return s
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
