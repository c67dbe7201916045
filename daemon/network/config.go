package network

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync"
)

// Defaults of Config.
const (
	// DefaultNetwork is the name of the network that Config describes.
	DefaultNetwork = "bridge"
	DefaultBridge  = "quilt0"
	// DefaultSubnet is the default network's subnet. Docker (172.17/16),
	// podman (10.88/16, 10.89/24s) and nerdctl (10.4/24s) use others.
	DefaultSubnet = "10.77.0.0/16"
	// DefaultPool is where user networks without a subnet get a /24.
	DefaultPool = "10.78.0.0/16"
)

// DefaultPluginDirs are searched for the CNI plugins: Debian's
// containernetworking-plugins, then the upstream install location.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// Plugins are the CNI plugins a bridge network runs, in order.
var Plugins = []string{"bridge", "host-local", "portmap", "firewall"}

// Config is the network part of quiltd's configuration file, the
// "network" object.
type Config struct {
	// PluginDirs are searched for the CNI plugins, in order.
	PluginDirs []string `json:"pluginDirs,omitempty"`
	// Bridge is the default network's bridge device.
	Bridge string `json:"bridge,omitempty"`
	// Subnet is the default network's IPv4 subnet; its first address is
	// the bridge's (the containers' gateway).
	Subnet string `json:"subnet,omitempty"`
	// Pool is the IPv4 range that user networks created without a subnet
	// take a free /24 from.
	Pool string `json:"pool,omitempty"`
	// Nameservers are written to containers' /etc/resolv.conf. Empty:
	// the host's own, except loopback addresses.
	Nameservers []string `json:"nameservers,omitempty"`
	// Default is the network of containers that name none: "bridge",
	// "none", "host" or a user network. Empty: "bridge" when the CNI
	// plugins are installed, otherwise "none".
	Default string `json:"default,omitempty"`
}

// The patterns are compiled on first use: quiltd's binary is also every
// container's libcontainer init, which runs all package initialisers and
// never validates a name.
var (
	nameRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`) })
	bridgeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$`) })
)

// Modes are the network values that name no bridge network of their own.
const (
	ModeNone = "none"
	ModeHost = "host"
)

// ValidName checks a network name: 1-64 letters, digits and _ . -,
// starting with a letter or digit.
func ValidName(name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("%w: network name %q: use 1-64 letters, digits and _ . - starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// validUserName is ValidName without the names of modes and of the
// default network.
func validUserName(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	switch name {
	case DefaultNetwork, ModeNone, ModeHost:
		return fmt.Errorf("%w: network name %q is reserved", ErrInvalid, name)
	}
	return nil
}

func validBridge(name string) error {
	if !bridgeRE().MatchString(name) {
		return fmt.Errorf("%w: bridge name %q: use 1-15 letters, digits and _ . -", ErrInvalid, name)
	}
	return nil
}

// parseSubnet reads an IPv4 subnet with room for a gateway and at least
// one container ("10.1.2.0/24"); host bits must be zero.
func parseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	switch {
	case err != nil:
		return p, fmt.Errorf("%w: subnet %q: want an IPv4 prefix such as 10.1.2.0/24", ErrInvalid, s)
	case !p.Addr().Is4():
		return p, fmt.Errorf("%w: subnet %q: only IPv4 subnets are supported", ErrInvalid, s)
	case p.Bits() < 8 || p.Bits() > 29:
		return p, fmt.Errorf("%w: subnet %q: the prefix length must be between 8 and 29", ErrInvalid, s)
	case p.Masked() != p:
		return p, fmt.Errorf("%w: subnet %q has host bits set: did you mean %s?", ErrInvalid, s, p.Masked())
	}
	return p, nil
}

// gatewayOf returns gw, or the subnet's first address when gw is empty,
// checked to be a usable address of the subnet.
func gatewayOf(subnet netip.Prefix, gw string) (netip.Addr, error) {
	if gw == "" {
		return subnet.Addr().Next(), nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(gw))
	if err != nil || !a.Is4() {
		return a, fmt.Errorf("%w: gateway %q: want an IPv4 address", ErrInvalid, gw)
	}
	if !subnet.Contains(a) || a == subnet.Addr() || a == lastAddr(subnet) {
		return a, fmt.Errorf("%w: gateway %s is not a host address of subnet %s", ErrInvalid, a, subnet)
	}
	return a, nil
}

// lastAddr is the subnet's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// withDefaults fills the unset fields and checks the set ones.
func (c Config) withDefaults() (Config, error) {
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = DefaultPluginDirs
	}
	if c.Bridge == "" {
		c.Bridge = DefaultBridge
	}
	if c.Subnet == "" {
		c.Subnet = DefaultSubnet
	}
	if c.Pool == "" {
		c.Pool = DefaultPool
	}
	if err := validBridge(c.Bridge); err != nil {
		return c, fmt.Errorf("network.bridge: %w", err)
	}
	if _, err := parseSubnet(c.Subnet); err != nil {
		return c, fmt.Errorf("network.subnet: %w", err)
	}
	pool, err := netip.ParsePrefix(c.Pool)
	if err != nil || !pool.Addr().Is4() || pool.Bits() > 24 || pool.Masked() != pool {
		return c, fmt.Errorf("network.pool: %w: %q: want an IPv4 prefix of /24 or larger, such as %s", ErrInvalid, c.Pool, DefaultPool)
	}
	for _, ns := range c.Nameservers {
		if _, err := netip.ParseAddr(ns); err != nil {
			return c, fmt.Errorf("network.nameservers: %w: %q is not an IP address", ErrInvalid, ns)
		}
	}
	switch c.Default {
	case "", DefaultNetwork, ModeNone, ModeHost:
	default:
		if err := ValidName(c.Default); err != nil {
			return c, fmt.Errorf("network.default: %w", err)
		}
	}
	return c, nil
}
