// Package network gives quiltd's containers bridge networks through CNI
// (libcni with the standard plugins bridge, host-local, portmap and
// firewall): a network namespace per container, pinned under the state
// directory, an address of the network's subnet, outbound NAT, published
// ports, and /etc/resolv.conf, /etc/hosts and /etc/hostname files. User
// networks keep their containers apart from other networks' containers
// and let them reach each other by name through /etc/hosts.
package network

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/quilt-runtime/quilt/internal/atomicfile"
)

// Network is a bridge network: the default one, from the daemon's
// configuration, or a user network kept in ROOT/networks/NAME.json.
type Network struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Bridge  string            `json:"bridge"`
	Subnet  netip.Prefix      `json:"subnet"`
	Gateway netip.Addr        `json:"gateway"`
	Created time.Time         `json:"created"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Default marks the default network, which is not stored.
	Default bool `json:"-"`
}

func (n *Network) clone() *Network {
	c := *n
	c.Labels = maps.Clone(n.Labels)
	return &c
}

// defaultNetwork describes the default network of a configuration. Its id
// is derived from its bridge, so that it stays the same across restarts.
func defaultNetwork(c Config) (*Network, error) {
	subnet, err := parseSubnet(c.Subnet)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("quilt default network " + c.Bridge))
	return &Network{
		ID: hex.EncodeToString(sum[:]), Name: DefaultNetwork, Bridge: c.Bridge,
		Subnet: subnet, Gateway: subnet.Addr().Next(), Default: true,
	}, nil
}

// confList is the network's CNI configuration list. Its name, which
// host-local's reservations, libcni's cache and the plugins' iptables
// chains and comments are named after, is the bridge's: unique on the host,
// so that two daemons' networks of the same name never mix. portmap is in it only
// for containers that publish ports: it costs a plugin run on every ADD
// and DEL otherwise. The firewall's same-bridge ingress policy makes the
// bridge's isolation rules, once per bridge: isolate asks for it when they
// may be missing (some ten iptables runs saved on every other ADD).
func (n *Network) confList(ipamDir string, ports, isolate bool) ([]byte, error) {
	type obj = map[string]any
	plugins := []obj{{
		"type": "bridge", "bridge": n.Bridge, "isGateway": true, "ipMasq": true, "hairpinMode": true,
		"ipam": obj{
			"type":    "host-local",
			"dataDir": ipamDir,
			"ranges":  [][]obj{{{"subnet": n.Subnet.String(), "gateway": n.Gateway.String()}}},
			"routes":  []obj{{"dst": "0.0.0.0/0"}},
		},
	}}
	if ports {
		plugins = append(plugins, obj{"type": "portmap", "capabilities": obj{"portMappings": true}})
	}
	fw := obj{"type": "firewall", "backend": "iptables"}
	if isolate {
		// same-bridge: only containers of this bridge reach its containers.
		fw["ingressPolicy"] = "same-bridge"
	}
	plugins = append(plugins, fw)
	b, err := json.Marshal(obj{"cniVersion": "1.0.0", "name": n.Bridge, "plugins": plugins})
	if err != nil {
		return nil, fmt.Errorf("network %s: CNI configuration: %w", n.Name, err)
	}
	return b, nil
}

// saveNetwork writes a user network's definition: temp file, fsync, rename.
func saveNetwork(dir string, n *Network) error {
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, n.Name+".json"), data, 0o600); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	return nil
}

// loadNetworks reads the user networks' definitions.
func loadNetworks(dir string) (map[string]*Network, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}
	out := map[string]*Network{}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", e.Name(), err)
		}
		var n Network
		if err := json.Unmarshal(data, &n); err != nil {
			return nil, fmt.Errorf("network %s: %w", filepath.Join(dir, e.Name()), err)
		}
		if validUserName(n.Name) != nil || n.Name+".json" != e.Name() {
			return nil, fmt.Errorf("network %s: %w: the name in it is %q", filepath.Join(dir, e.Name()), ErrInvalid, n.Name)
		}
		out[n.Name] = &n
	}
	return out, nil
}
