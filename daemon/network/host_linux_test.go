package network

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// hexOf writes an address as /proc/net/route does: in the host's byte
// order.
func hexOf(a string) string {
	b := netip.MustParseAddr(a).As4()
	return fmt.Sprintf("%08X", binary.NativeEndian.Uint32(b[:]))
}

func TestParseRoutes(t *testing.T) {
	table := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t" + hexOf("0.0.0.0") + "\t" + hexOf("192.0.2.1") + "\t0003\t0\t0\t0\t" + hexOf("0.0.0.0") + "\t0\t0\t0\n" +
		"eth0\t" + hexOf("192.0.2.0") + "\t00000000\t0001\t0\t0\t0\t" + hexOf("255.255.255.0") + "\t0\t0\t0\n" +
		"quilt0\t" + hexOf("10.77.0.0") + "\t00000000\t0001\t0\t0\t0\t" + hexOf("255.255.0.0") + "\t0\t0\t0\n" +
		"wg0\t" + hexOf("10.78.4.0") + "\t00000000\t0001\t0\t0\t0\t" + hexOf("255.255.252.0") + "\t0\t0\t0\n" +
		"junk\n"
	routes, err := parseRoutes(bufio.NewScanner(strings.NewReader(table)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(routes); got != "[{192.0.2.0/24 eth0} {10.77.0.0/16 quilt0} {10.78.4.0/22 wg0}]" {
		t.Fatalf("routes %s", got)
	}
	own := map[string]bool{"quilt0": true}
	for subnet, want := range map[string]string{
		"10.77.0.0/16":   "",    // quiltd's own bridge
		"10.78.0.0/24":   "",    // free
		"10.78.5.0/24":   "wg0", // inside the route
		"10.78.0.0/16":   "wg0", // around it
		"192.0.2.128/25": "eth0",
	} {
		r, ok := routeClash(routes, netip.MustParsePrefix(subnet), own)
		if (want == "") == ok || (ok && r.Device != want) {
			t.Errorf("%s: %v %v, want %q", subnet, r, ok, want)
		}
	}
}
