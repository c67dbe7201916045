package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/sirupsen/logrus"
)

// Options configure a Manager.
type Options struct {
	Config Config
	// Root keeps the user networks' definitions (Root/networks).
	Root string
	// State keeps the runtime state: the containers' network namespaces
	// (State/netns/ID), CNI's cache (State/cni) and host-local's address
	// reservations (State/ipam). A reboot clears them, as it clears the
	// bridges, rules and namespaces they describe.
	State string
	Log   *logrus.Entry
}

// Manager keeps the networks and the containers attached to them. Its
// methods are safe for concurrent use.
type Manager struct {
	cfg      Config
	dir      string
	netnsDir string
	ipamDir  string
	cni      *libcni.CNIConfig
	log      *logrus.Entry
	dflt     *Network
	mode     string

	mu       sync.Mutex
	networks map[string]*Network  // user networks by name
	eps      map[string]*Endpoint // attached containers by id
	// isolated are the bridges whose isolation rules an ADD of this
	// daemon has made or found.
	isolated map[string]bool
	// hostsMu orders the rewrites of hosts files.
	hostsMu sync.Mutex
}

// New opens the network state: the user networks, the directories, and
// the default network of the configuration. It decides the default mode:
// "bridge" when the CNI plugins are installed, "none" otherwise, unless
// the configuration says.
func New(o Options) (*Manager, error) {
	cfg, err := o.Config.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := o.Log
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	m := &Manager{
		cfg: cfg, dir: filepath.Join(o.Root, "networks"), netnsDir: filepath.Join(o.State, "netns"),
		ipamDir: filepath.Join(o.State, "ipam"), log: log, eps: map[string]*Endpoint{}, isolated: map[string]bool{},
		cni: libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, filepath.Join(o.State, "cni"), nil),
	}
	for _, d := range []string{m.dir, m.netnsDir, m.ipamDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("network directory: %w", err)
		}
	}
	if m.networks, err = loadNetworks(m.dir); err != nil {
		return nil, err
	}
	if m.dflt, err = defaultNetwork(cfg); err != nil {
		return nil, err
	}
	m.mode = cfg.Default
	if m.mode == "" {
		m.mode = DefaultNetwork
		if err := m.checkPlugins(Plugins); err != nil {
			m.mode = ModeNone
			log.WithError(err).Info("containers get no network by default (network none): bridge networking needs the CNI plugins")
		}
	}
	return m, nil
}

// DefaultMode is the network of containers that name none.
func (m *Manager) DefaultMode() string { return m.mode }

// checkPlugins finds the plugins in the configured directories.
func (m *Manager) checkPlugins(plugins []string) error {
	for _, p := range plugins {
		if _, err := invoke.FindInPath(p, m.cfg.PluginDirs); err != nil {
			return fmt.Errorf("%w: %q is not in %s: install the CNI plugins (Debian: containernetworking-plugins) or set network.pluginDirs in quiltd's configuration",
				ErrPluginMissing, p, strings.Join(m.cfg.PluginDirs, ":"))
		}
	}
	return nil
}

// CreateOptions describe a user network.
type CreateOptions struct {
	Name string
	// Subnet is an IPv4 subnet; empty: a free /24 of the pool.
	Subnet string
	// Gateway is the bridge's address; empty: the subnet's first address.
	Gateway string
	// Bridge names the bridge device; empty: "qn-" and 10 digits of the id.
	Bridge string
	Labels map[string]string
}

// Create adds a user network. Its bridge is made by the first container
// that joins it.
func (m *Manager) Create(o CreateOptions) (*Network, error) {
	if err := validUserName(o.Name); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	n := &Network{ID: id, Name: o.Name, Bridge: o.Bridge, Created: time.Now().UTC(), Labels: maps.Clone(o.Labels)}
	if n.Bridge == "" {
		n.Bridge = "qn-" + id[:10]
	}
	if err := validBridge(n.Bridge); err != nil {
		return nil, err
	}
	routes, err := hostRoutes()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.networks[o.Name]; ok {
		return nil, fmt.Errorf("%w: network %s already exists", ErrExists, o.Name)
	}
	own := m.bridgesLocked()
	if own[n.Bridge] {
		return nil, fmt.Errorf("%w: bridge %s belongs to another network", ErrExists, n.Bridge)
	}
	if linkExists(n.Bridge) {
		return nil, fmt.Errorf("%w: the host already has a device %s: choose another bridge name", ErrExists, n.Bridge)
	}
	if o.Subnet != "" {
		if n.Subnet, err = parseSubnet(o.Subnet); err != nil {
			return nil, err
		}
		if err := m.subnetFreeLocked(n.Subnet, routes, own); err != nil {
			return nil, err
		}
	} else if n.Subnet, err = m.freeSubnetLocked(routes, own); err != nil {
		return nil, err
	}
	if n.Gateway, err = gatewayOf(n.Subnet, o.Gateway); err != nil {
		return nil, err
	}
	if err := saveNetwork(m.dir, n); err != nil {
		return nil, err
	}
	m.networks[n.Name] = n
	return n.clone(), nil
}

// bridgesLocked returns the bridges of all networks. m.mu is held.
func (m *Manager) bridgesLocked() map[string]bool {
	own := map[string]bool{m.dflt.Bridge: true}
	for _, n := range m.networks {
		own[n.Bridge] = true
	}
	return own
}

// subnetFreeLocked refuses a subnet that overlaps another network's or a
// route of the host on a device other than quiltd's bridges.
func (m *Manager) subnetFreeLocked(subnet netip.Prefix, routes []route, own map[string]bool) error {
	for _, n := range append(slices.Collect(maps.Values(m.networks)), m.dflt) {
		if n.Subnet.Overlaps(subnet) {
			return fmt.Errorf("%w: subnet %s overlaps network %s (%s)", ErrExists, subnet, n.Name, n.Subnet)
		}
	}
	if r, ok := routeClash(routes, subnet, own); ok {
		return fmt.Errorf("%w: subnet %s overlaps the host's route to %s on %s", ErrExists, subnet, r.Dst, r.Device)
	}
	return nil
}

// freeSubnetLocked picks the first /24 of the pool that is free.
func (m *Manager) freeSubnetLocked(routes []route, own map[string]bool) (netip.Prefix, error) {
	pool := netip.MustParsePrefix(m.cfg.Pool)
	for a := pool.Addr(); pool.Contains(a); {
		p := netip.PrefixFrom(a, 24)
		if m.subnetFreeLocked(p, routes, own) == nil {
			return p, nil
		}
		b := a.As4()
		if b[2] == 255 {
			if b[1] == 255 {
				break
			}
			b[1]++
		}
		b[2]++
		a = netip.AddrFrom4(b)
	}
	return netip.Prefix{}, fmt.Errorf("%w: no free /24 left in the pool %s: give a subnet", ErrExists, pool)
}

// Networks lists the default network and the user networks, by name.
func (m *Manager) Networks() []*Network {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*Network{m.dflt.clone()}
	for _, n := range m.networks {
		out = append(out, n.clone())
	}
	slices.SortFunc(out[1:], func(a, b *Network) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get finds a network by name, id or unique id prefix.
func (m *Manager) Get(ref string) (*Network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.getLocked(ref)
	if err != nil {
		return nil, err
	}
	return n.clone(), nil
}

func (m *Manager) getLocked(ref string) (*Network, error) {
	if ref == DefaultNetwork || ref == m.dflt.ID {
		return m.dflt, nil
	}
	if n, ok := m.networks[ref]; ok {
		return n, nil
	}
	var found *Network
	for _, n := range append(slices.Collect(maps.Values(m.networks)), m.dflt) {
		if len(ref) >= 4 && strings.HasPrefix(n.ID, ref) {
			if found != nil {
				return nil, fmt.Errorf("%w: network id prefix %q is ambiguous", ErrInvalid, ref)
			}
			found = n
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return found, nil
}

// Remove deletes a user network, its bridge and its address
// reservations. It refuses while containers are attached.
func (m *Manager) Remove(ref string) (*Network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.getLocked(ref)
	if err != nil {
		return nil, err
	}
	if n.Default {
		return nil, fmt.Errorf("%w: the default network %s cannot be removed", ErrInvalid, n.Name)
	}
	var users []string
	for _, ep := range m.eps {
		if ep.NetworkID == n.ID {
			users = append(users, ep.Name)
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return nil, fmt.Errorf("%w: network %s has containers attached (%s): remove them first", ErrInUse, n.Name, strings.Join(users, ", "))
	}
	if err := removeBridge(n.Bridge); err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := os.RemoveAll(filepath.Join(m.ipamDir, n.Bridge)); err != nil {
		return nil, fmt.Errorf("network %s: address reservations: %w", n.Name, err)
	}
	if err := os.Remove(filepath.Join(m.dir, n.Name+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	delete(m.networks, n.Name)
	delete(m.isolated, n.Bridge)
	return n.clone(), nil
}

func newID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("network id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
