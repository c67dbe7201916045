package network

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
)

// route is an IPv4 route of the host: a destination on a device.
type route struct {
	Dst    netip.Prefix
	Device string
}

// hostRoutes reads the host's IPv4 routes, the default route left out.
func hostRoutes() ([]route, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, fmt.Errorf("host routes: %w", err)
	}
	defer f.Close()
	return parseRoutes(bufio.NewScanner(f))
}

// parseRoutes reads /proc/net/route: Iface Destination Gateway Flags
// RefCnt Use Metric Mask ..., addresses in hex, in the host's byte order.
func parseRoutes(sc *bufio.Scanner) ([]route, error) {
	var out []route
	hexAddr := func(s string) (netip.Addr, bool) {
		v, err := strconv.ParseUint(s, 16, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], uint32(v))
		return netip.AddrFrom4(b), true
	}
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 8 {
			continue
		}
		dst, ok1 := hexAddr(f[1])
		mask, ok2 := hexAddr(f[7])
		if !ok1 || !ok2 {
			continue
		}
		m := mask.As4()
		bits := 0
		for _, b := range m {
			for ; b&0x80 != 0; b <<= 1 {
				bits++
			}
		}
		if bits == 0 {
			continue
		}
		out = append(out, route{Dst: netip.PrefixFrom(dst, bits).Masked(), Device: f[0]})
	}
	return out, sc.Err()
}

// routeClash returns the first route that overlaps subnet, leaving out
// the routes on the devices in own (quiltd's bridges).
func routeClash(routes []route, subnet netip.Prefix, own map[string]bool) (route, bool) {
	for _, r := range routes {
		if !own[r.Device] && r.Dst.Overlaps(subnet) {
			return r, true
		}
	}
	return route{}, false
}

// linkExists reports whether the host has a network device of that name.
func linkExists(name string) bool {
	_, err := os.Lstat("/sys/class/net/" + name)
	return err == nil
}

// isolationComment is the comment of the rules the firewall plugin adds
// for its same-bridge ingress policy, once per bridge.
const isolationComment = "CNI firewall plugin rules (ingressPolicy: same-bridge)"

// removeBridge deletes a network's bridge device and the firewall
// plugin's isolation rules for it, which the plugin never removes. Both
// may be gone already.
func removeBridge(name string) error {
	var errs []error
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
	case err != nil:
		errs = append(errs, fmt.Errorf("bridge %s: %w", name, err))
	case l.Type() != "bridge":
		errs = append(errs, fmt.Errorf("%w: device %s is a %s, not a bridge: left alone", ErrInvalid, name, l.Type()))
	default:
		if err := netlink.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("delete bridge %s: %w", name, err))
		}
	}
	if err := removeIsolation(name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func removeIsolation(bridge string) error {
	ipt, err := iptables.New()
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	for _, r := range []struct {
		chain string
		rule  []string
	}{
		{"CNI-ISOLATION-STAGE-1", []string{"-i", bridge, "!", "-o", bridge, "-j", "CNI-ISOLATION-STAGE-2"}},
		{"CNI-ISOLATION-STAGE-2", []string{"-o", bridge, "-j", "DROP"}},
	} {
		if ok, err := ipt.ChainExists("filter", r.chain); err != nil || !ok {
			continue
		}
		rule := append(r.rule, "-m", "comment", "--comment", isolationComment)
		if err := ipt.DeleteIfExists("filter", r.chain, rule...); err != nil {
			return fmt.Errorf("isolation rule of bridge %s: %w", bridge, err)
		}
	}
	return nil
}
