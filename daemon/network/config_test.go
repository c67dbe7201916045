package network

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ok, userOK bool
	}{
		{"back-end_1.x", true, true}, {"a", true, true}, {strings.Repeat("n", 64), true, true},
		{"bridge", true, false}, {"host", true, false}, {"none", true, false},
		{"", false, false}, {"-a", false, false}, {".a", false, false}, {"a/b", false, false},
		{"a b", false, false}, {"a:b", false, false}, {strings.Repeat("n", 65), false, false}, {"é", false, false},
	} {
		if err := ValidName(tc.name); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("ValidName(%q) = %v", tc.name, err)
		}
		if err := validUserName(tc.name); (err == nil) != tc.userOK {
			t.Errorf("validUserName(%q) = %v", tc.name, err)
		}
	}
}

func TestParseSubnetAndGateway(t *testing.T) {
	for _, tc := range []struct {
		subnet, gateway string
		want            string // the gateway, or the error's text
	}{
		{"10.1.2.0/24", "", "10.1.2.1"},
		{"10.1.2.0/24", "10.1.2.254", "10.1.2.254"},
		{" 172.30.0.0/16 ", "", "172.30.0.1"},
		{"10.1.2.0/24", "10.1.2.0", "not a host address"},
		{"10.1.2.0/24", "10.1.2.255", "not a host address"},
		{"10.1.2.0/24", "10.1.3.1", "not a host address"},
		{"10.1.2.0/24", "fe80::1", "want an IPv4 address"},
		{"10.1.2.0/24", "gw", "want an IPv4 address"},
		{"10.1.2.1/24", "", "host bits set: did you mean 10.1.2.0/24?"},
		{"fd00::/64", "", "only IPv4"},
		{"10.0.0.0/7", "", "between 8 and 29"},
		{"10.0.0.0/30", "", "between 8 and 29"},
		{"10.0.0.0", "", "want an IPv4 prefix"},
	} {
		subnet, err := parseSubnet(tc.subnet)
		var gw netip.Addr
		if err == nil {
			gw, err = gatewayOf(subnet, tc.gateway)
		}
		switch {
		case err != nil && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid)):
			t.Errorf("%s gw %q: %v, want %q", tc.subnet, tc.gateway, err, tc.want)
		case err == nil && gw.String() != tc.want:
			t.Errorf("%s gw %q: %s, want %s", tc.subnet, tc.gateway, gw, tc.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil || c.Bridge != "quilt0" || c.Subnet != "10.77.0.0/16" || c.Pool != "10.78.0.0/16" ||
		strings.Join(c.PluginDirs, ":") != "/usr/lib/cni:/opt/cni/bin" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, tc := range []struct {
		json, want string
	}{
		{`{"bridge": "a-very-long-bridge-name"}`, "network.bridge"},
		{`{"bridge": "br/0"}`, "network.bridge"},
		{`{"subnet": "10.0.0.0/33"}`, "network.subnet"},
		{`{"pool": "10.78.0.0/25"}`, "network.pool"},
		{`{"pool": "fd00::/48"}`, "network.pool"},
		{`{"nameservers": ["dns.example"]}`, "network.nameservers"},
		{`{"default": "a b"}`, "network.default"},
		{`{"default": "mynet", "nameservers": ["9.9.9.9"], "pluginDirs": ["/x"]}`, ""},
	} {
		var c Config
		if err := json.Unmarshal([]byte(tc.json), &c); err != nil {
			t.Fatal(err)
		}
		_, err := c.withDefaults()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
}

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{"10.1.2.0/24": "10.1.2.255", "10.0.0.0/8": "10.255.255.255", "192.168.4.8/29": "192.168.4.15"} {
		if got := lastAddr(netip.MustParsePrefix(p)); got.String() != want {
			t.Errorf("%s: %s", p, got)
		}
	}
}

// The configuration list is what CNI runs: bridge with host-local, then
// portmap only when ports are published, then the firewall.
func TestConfList(t *testing.T) {
	n := &Network{Name: "back", Bridge: "qn-1", Subnet: netip.MustParsePrefix("10.78.3.0/24"), Gateway: netip.MustParseAddr("10.78.3.1")}
	for _, ports := range []bool{false, true} {
		b, err := n.confList("/run/q/ipam", ports, !ports)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			CNIVersion string `json:"cniVersion"`
			Name       string
			Plugins    []map[string]any
		}
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, p := range list.Plugins {
			types = append(types, p["type"].(string))
		}
		want := "bridge firewall"
		if ports {
			want = "bridge portmap firewall"
		}
		if list.CNIVersion != "1.0.0" || list.Name != "qn-1" || strings.Join(types, " ") != want {
			t.Errorf("ports %v: %s", ports, b)
		}
		br := list.Plugins[0]
		ipam := br["ipam"].(map[string]any)
		if br["bridge"] != "qn-1" || br["ipMasq"] != true || br["isGateway"] != true || ipam["dataDir"] != "/run/q/ipam" ||
			!strings.Contains(string(b), `"ranges":[[{"gateway":"10.78.3.1","subnet":"10.78.3.0/24"}]]`) {
			t.Errorf("bridge plugin: %s", b)
		}
		if fw := list.Plugins[len(list.Plugins)-1]; (fw["ingressPolicy"] == "same-bridge") != !ports || fw["backend"] != "iptables" {
			t.Errorf("firewall plugin: %v", fw)
		}
	}
}
