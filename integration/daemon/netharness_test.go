package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// testNet is a test daemon's default network: a bridge and subnet of its
// own, and a pool for its user networks, given to quiltd in a
// configuration file, so that daemons never share a bridge, an address or
// a rule with each other or with the host's quilt0.
type testNet struct {
	config string
	bridge string
	subnet netip.Prefix
	pool   netip.Prefix
}

func newTestNet(t *testing.T, dir string, seq int32) testNet {
	t.Helper()
	n := testNet{
		config: filepath.Join(dir, "quiltd.json"),
		bridge: fmt.Sprintf("qt%s%d", runID[:8], seq),
		subnet: freeSubnet(t, 24),
		pool:   freeSubnet(t, 20),
	}
	cfg := map[string]any{"network": map[string]any{"bridge": n.bridge, "subnet": n.subnet.String(), "pool": n.pool.String()}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.config, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// freeSubnet picks a random 10.x.y.0/bits that no route of the host
// touches, in 10.64.0.0/10, away from quiltd's defaults and Docker's.
func freeSubnet(t *testing.T, bits int) netip.Prefix {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	for range 100 {
		var b [2]byte
		rand.Read(b[:])
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64 + b[0]%64, b[1], 0}), bits).Masked()
		clash := false
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			dst := f[0]
			if f[0] == "local" || f[0] == "broadcast" {
				if len(f) < 2 {
					continue
				}
				dst = f[1]
			}
			if r, err := netip.ParsePrefix(dst); err == nil && r.Overlaps(p) {
				clash = true
			} else if a, err := netip.ParseAddr(dst); err == nil && p.Contains(a) {
				clash = true
			}
		}
		if !clash {
			return p
		}
	}
	t.Fatal("no free subnet")
	return netip.Prefix{}
}

// removeNetworks removes the user networks a test left.
func (d *daemon) removeNetworks(ctx context.Context) {
	list, err := d.nets.List(ctx, &quiltv1.ListNetworksRequest{})
	if err != nil {
		return
	}
	for _, n := range list.Networks {
		if n.IsDefault {
			continue
		}
		if _, err := d.nets.Remove(ctx, &quiltv1.RemoveNetworkRequest{Name: n.Name}); err != nil {
			d.t.Errorf("cleanup: remove network %s: %v", n.Name, err)
		}
	}
}

// cleanup reports what containers left of the network (veths on the
// bridge, NAT and firewall rules for its addresses) and removes it, then
// removes the bridge and its isolation rules, which live as long as the
// network, and the bridges and rules of user networks the daemon could not
// remove (their definitions are still in root).
func (n testNet) cleanup(t *testing.T, root string) {
	if n.bridge == "" {
		return // the test ended before the network was set up
	}
	if veths, _ := os.ReadDir("/sys/class/net/" + n.bridge + "/brif"); len(veths) > 0 {
		t.Errorf("veths left on %s: %d", n.bridge, len(veths))
	}
	if rules := rulesOf(t, n.subnet); len(rules) > 0 {
		t.Errorf("iptables rules left for %s: %q", n.subnet, rules)
		deleteRulesOf(t, n.subnet)
	}
	removeBridge(n.bridge)
	defs, _ := filepath.Glob(filepath.Join(root, "networks", "*.json"))
	for _, def := range defs {
		var un struct {
			Name, Bridge string
			Subnet       netip.Prefix
		}
		data, _ := os.ReadFile(def)
		if json.Unmarshal(data, &un) != nil || un.Bridge == "" {
			continue
		}
		t.Errorf("network %s left", un.Name)
		removeBridge(un.Bridge)
		if un.Subnet.IsValid() {
			deleteRulesOf(t, un.Subnet)
		}
	}
}

// deleteRulesOf deletes the rules that rulesOf finds. iptables -S writes
// them as arguments a shell takes back.
func deleteRulesOf(t *testing.T, subnet netip.Prefix) {
	for _, table := range []string{"filter", "nat"} {
		out, _ := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		for _, r := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(r, "-A ") && strings.Contains(r, subnetPrefix(subnet)) {
				_ = exec.Command("sh", "-c", "iptables -w -t "+table+" -D "+strings.TrimPrefix(r, "-A ")).Run()
			}
		}
	}
}

// subnetPrefix is the text every address of subnet starts with: the
// first three numbers of a /24 or smaller, the first two otherwise.
func subnetPrefix(subnet netip.Prefix) string {
	b := subnet.Addr().As4()
	if subnet.Bits() >= 24 {
		return fmt.Sprintf("%d.%d.%d.", b[0], b[1], b[2])
	}
	return fmt.Sprintf("%d.%d.", b[0], b[1])
}

// removeBridge deletes a bridge and the firewall plugin's isolation rules
// for it; either may be gone already.
func removeBridge(bridge string) {
	_ = exec.Command("ip", "link", "del", bridge).Run()
	comment := []string{"-m", "comment", "--comment", "CNI firewall plugin rules (ingressPolicy: same-bridge)"}
	_ = exec.Command("iptables", append([]string{"-w", "-D", "CNI-ISOLATION-STAGE-1", "-i", bridge, "!", "-o", bridge, "-j", "CNI-ISOLATION-STAGE-2"}, comment...)...).Run()
	_ = exec.Command("iptables", append([]string{"-w", "-D", "CNI-ISOLATION-STAGE-2", "-o", bridge, "-j", "DROP"}, comment...)...).Run()
}

// rulesOf lists the iptables rules (filter and nat) that name an address
// of subnet: what the bridge, portmap and firewall plugins add for a
// container.
func rulesOf(t *testing.T, subnet netip.Prefix) []string {
	t.Helper()
	prefix := subnetPrefix(subnet)
	var out []string
	for _, table := range []string{"filter", "nat"} {
		rules, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			t.Fatalf("iptables -t %s -S: %v", table, err)
		}
		for _, r := range strings.Split(string(rules), "\n") {
			if strings.Contains(r, prefix) {
				out = append(out, r)
			}
		}
	}
	return out
}
