package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// Port publishes a container port on the host through the portmap plugin.
type Port struct {
	// HostIP is the host address; empty: every address, 127.0.0.1 too.
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	// Protocol is "tcp" or "udp".
	Protocol string `json:"protocol"`
}

func (p Port) String() string {
	s := strconv.Itoa(int(p.HostPort)) + ":" + strconv.Itoa(int(p.ContainerPort)) + "/" + p.Protocol
	if p.HostIP != "" {
		s = p.HostIP + ":" + s
	}
	return s
}

// NormalizePort checks a port mapping and fills its defaults: protocol
// tcp, and the host IP in its canonical form.
func NormalizePort(p Port) (Port, error) {
	switch p.Protocol {
	case "":
		p.Protocol = "tcp"
	case "tcp", "udp":
	default:
		return p, fmt.Errorf("%w: port %d: protocol %q: use tcp or udp", ErrInvalid, p.ContainerPort, p.Protocol)
	}
	if p.HostPort == 0 || p.ContainerPort == 0 {
		return p, fmt.Errorf("%w: port mapping %s: ports are 1-65535", ErrInvalid, p)
	}
	if p.HostIP != "" {
		a, err := netip.ParseAddr(p.HostIP)
		if err != nil || !a.Is4() {
			return p, fmt.Errorf("%w: port mapping %s: host IP %q: want an IPv4 address", ErrInvalid, p, p.HostIP)
		}
		if a.IsUnspecified() {
			p.HostIP = ""
		} else {
			p.HostIP = a.String()
		}
	}
	return p, nil
}

// clash reports whether two mappings want the same host port.
func (p Port) clash(q Port) bool {
	return p.Protocol == q.Protocol && p.HostPort == q.HostPort &&
		(p.HostIP == "" || q.HostIP == "" || p.HostIP == q.HostIP)
}

// CheckPorts refuses mappings that clash with each other.
func CheckPorts(ports []Port) error {
	for i, p := range ports {
		for _, q := range ports[:i] {
			if p.clash(q) {
				return fmt.Errorf("%w: host port %d/%s is published twice", ErrInvalid, p.HostPort, p.Protocol)
			}
		}
	}
	return nil
}

// hostPortFree checks that no program of the host listens on the port:
// the DNAT rule would take its connections away from it. A host address
// that is not the host's is refused here too.
func hostPortFree(p Port) error {
	addr := net.JoinHostPort(p.HostIP, strconv.Itoa(int(p.HostPort)))
	var err error
	if p.Protocol == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%w: host port %s is in use by a program of the host", ErrExists, p)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("%w: port mapping %s: %s is not an address of this host", ErrInvalid, p, p.HostIP)
	}
	return fmt.Errorf("host port %s: %w", p, err)
}

// capability is the port mappings as the portmap plugin takes them in
// runtimeConfig.portMappings.
func capability(ports []Port) []map[string]any {
	out := make([]map[string]any, len(ports))
	for i, p := range ports {
		out[i] = map[string]any{"hostPort": int(p.HostPort), "containerPort": int(p.ContainerPort), "protocol": p.Protocol, "hostIP": p.HostIP}
	}
	return out
}
