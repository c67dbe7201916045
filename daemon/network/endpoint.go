package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"golang.org/x/sys/unix"

	"github.com/quilt-runtime/quilt/internal/atomicfile"
)

// endpointFile is an attached container's record, in its directory. It is
// written before CNI ADD, so that a DEL can always follow.
const endpointFile = "network.json"

// ifName is the container's interface.
const ifName = "eth0"

// delTimeout bounds a CNI DEL, which runs whatever the caller's context.
const delTimeout = 30 * time.Second

// Endpoint is a container attached to a bridge network.
type Endpoint struct {
	ContainerID string `json:"containerId"`
	// Name and Hostname are the container's, for /etc/hosts.
	Name      string `json:"name"`
	Hostname  string `json:"hostname"`
	Network   string `json:"network"`
	NetworkID string `json:"networkId"`
	// Netns is the network namespace's path, for the spec and for DEL.
	Netns string `json:"netns"`
	Ports []Port `json:"ports,omitempty"`
	// Addr, Gateway and MAC are CNI ADD's result.
	Addr    netip.Prefix `json:"addr,omitzero"`
	Gateway netip.Addr   `json:"gateway,omitzero"`
	MAC     string       `json:"mac,omitempty"`
	// ConfList is the CNI configuration list of ADD, used again for DEL.
	ConfList json.RawMessage `json:"confList"`
	// peers is set for user networks: the container's /etc/hosts lists
	// the network's other containers.
	Peers bool `json:"peers,omitempty"`

	dir string
}

// Files are the host files to bind-mount in the container, by
// destination.
func (ep *Endpoint) Files() map[string]string {
	return map[string]string{
		"/etc/resolv.conf": filepath.Join(ep.dir, ResolvConf),
		"/etc/hosts":       filepath.Join(ep.dir, HostsFile),
		"/etc/hostname":    filepath.Join(ep.dir, Hostname),
	}
}

func (ep *Endpoint) clone() *Endpoint {
	c := *ep
	c.Ports = slices.Clone(ep.Ports)
	return &c
}

func (ep *Endpoint) save() error {
	data, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		return fmt.Errorf("container %s network record: %w", ep.ContainerID, err)
	}
	if err := atomicfile.Write(filepath.Join(ep.dir, endpointFile), data, 0o600); err != nil {
		return fmt.Errorf("container %s network record: %w", ep.ContainerID, err)
	}
	return nil
}

func readEndpoint(dir string) (*Endpoint, error) {
	data, err := os.ReadFile(filepath.Join(dir, endpointFile))
	if err != nil {
		return nil, err
	}
	ep := &Endpoint{dir: dir}
	if err := json.Unmarshal(data, ep); err != nil {
		return nil, fmt.Errorf("network record %s: %w", filepath.Join(dir, endpointFile), err)
	}
	return ep, nil
}

// AttachOptions describe a container to attach.
type AttachOptions struct {
	ContainerID string
	// Name and Hostname go to /etc/hosts, Hostname to /etc/hostname.
	Name     string
	Hostname string
	// Network is "bridge" (the default network) or a user network.
	Network string
	Ports   []Port
	// Dir is the container's directory: its network record and files go
	// there.
	Dir string
}

// Attach gives a container a network namespace on the network, with an
// address (CNI ADD) and the files for /etc. The container joins the
// namespace at Endpoint.Netns. On error nothing is left.
func (m *Manager) Attach(ctx context.Context, o AttachOptions) (_ *Endpoint, retErr error) {
	ports := make([]Port, len(o.Ports))
	for i, p := range o.Ports {
		var err error
		if ports[i], err = NormalizePort(p); err != nil {
			return nil, err
		}
	}
	if err := CheckPorts(ports); err != nil {
		return nil, err
	}
	plugins := slices.DeleteFunc(slices.Clone(Plugins), func(p string) bool { return p == "portmap" && len(ports) == 0 })
	if err := m.checkPlugins(plugins); err != nil {
		return nil, err
	}
	for _, p := range ports {
		if err := hostPortFree(p); err != nil {
			return nil, err
		}
	}
	ep := &Endpoint{
		ContainerID: o.ContainerID, Name: o.Name, Hostname: o.Hostname, Ports: ports,
		Netns: filepath.Join(m.netnsDir, o.ContainerID), dir: o.Dir,
	}
	n, err := m.register(ep, o.Network)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			if _, err := m.Detach(o.ContainerID, o.Dir); err != nil {
				m.log.WithError(err).WithField("id", o.ContainerID).Warn("releasing the network of a container that could not be attached")
			}
		}
	}()
	m.mu.Lock()
	isolate := !m.isolated[n.Bridge]
	m.mu.Unlock()
	if ep.ConfList, err = n.confList(m.ipamDir, len(ports) > 0, isolate); err != nil {
		return nil, err
	}
	if err := ep.save(); err != nil {
		return nil, err
	}
	if err := m.checkSubnet(n); err != nil {
		return nil, err
	}
	if err := newNetns(ep.Netns); err != nil {
		return nil, err
	}
	res, err := m.add(ctx, ep)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := ep.setResult(res); err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	m.mu.Lock()
	m.eps[ep.ContainerID] = ep.clone()
	m.isolated[n.Bridge] = true
	m.mu.Unlock()
	if err := ep.save(); err != nil {
		return nil, err
	}
	if err := m.writeFiles(ep); err != nil {
		return nil, err
	}
	if ep.Peers {
		m.refreshHosts(ep.NetworkID)
	}
	return ep.clone(), nil
}

// register checks the network and the host ports and reserves them for
// ep, in one step so that Remove or another Attach cannot come between.
func (m *Manager) register(ep *Endpoint, network string) (*Network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.eps[ep.ContainerID]; ok {
		return nil, fmt.Errorf("%w: container %s is attached already", ErrExists, ep.ContainerID)
	}
	n, err := m.getLocked(network)
	if err != nil {
		return nil, err
	}
	for _, other := range m.eps {
		for _, p := range ep.Ports {
			for _, q := range other.Ports {
				if p.clash(q) {
					return nil, fmt.Errorf("%w: host port %d/%s is published by container %s already", ErrExists, p.HostPort, p.Protocol, other.Name)
				}
			}
		}
	}
	ep.Network, ep.NetworkID, ep.Peers = n.Name, n.ID, !n.Default
	m.eps[ep.ContainerID] = ep.clone()
	return n.clone(), nil
}

// checkSubnet refuses to make a network's bridge on a subnet that a route
// of the host covers: its containers could not reach those addresses.
// Once the bridge exists, its own route is the one that covers it.
func (m *Manager) checkSubnet(n *Network) error {
	if linkExists(n.Bridge) {
		return nil
	}
	routes, err := hostRoutes()
	if err != nil {
		return err
	}
	m.mu.Lock()
	own := m.bridgesLocked()
	m.mu.Unlock()
	if r, ok := routeClash(routes, n.Subnet, own); ok {
		what := "give the network another subnet"
		if n.Default {
			what = "set network.subnet in quiltd's configuration"
		}
		return fmt.Errorf("%w: network %s: subnet %s overlaps the host's route to %s on %s: %s", ErrExists, n.Name, n.Subnet, r.Dst, r.Device, what)
	}
	return nil
}

func (ep *Endpoint) runtimeConf() *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: ep.ContainerID, NetNS: ep.Netns, IfName: ifName}
	if len(ep.Ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": capability(ep.Ports)}
	}
	return rt
}

func (m *Manager) add(ctx context.Context, ep *Endpoint) (*types100.Result, error) {
	list, err := libcni.NetworkConfFromBytes(ep.ConfList)
	if err != nil {
		return nil, fmt.Errorf("CNI configuration: %w", err)
	}
	res, err := m.cni.AddNetworkList(ctx, list, ep.runtimeConf())
	if err != nil {
		return nil, fmt.Errorf("CNI ADD: %w", err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("CNI ADD result: %w", err)
	}
	return r, nil
}

// setResult takes the container's address, gateway and MAC from ADD's
// result: the IPv4 address of the interface in the namespace.
func (ep *Endpoint) setResult(r *types100.Result) error {
	for _, ipc := range r.IPs {
		if ipc.Interface == nil || *ipc.Interface < 0 || *ipc.Interface >= len(r.Interfaces) {
			continue
		}
		iface := r.Interfaces[*ipc.Interface]
		if iface.Sandbox == "" || ipc.Address.IP.To4() == nil {
			continue
		}
		addr, ok := netip.AddrFromSlice(ipc.Address.IP.To4())
		ones, _ := ipc.Address.Mask.Size()
		if !ok {
			continue
		}
		ep.Addr, ep.MAC = netip.PrefixFrom(addr, ones), iface.Mac
		if gw, ok := netip.AddrFromSlice(ipc.Gateway.To4()); ok {
			ep.Gateway = gw
		}
		return nil
	}
	return errors.New("CNI ADD gave the container no IPv4 address")
}

// writeFiles writes the container's resolv.conf, hostname and hosts.
func (m *Manager) writeFiles(ep *Endpoint) error {
	files := map[string][]byte{
		ResolvConf: resolvConf(hostResolvConf(), m.cfg.Nameservers),
		Hostname:   []byte(ep.Hostname + "\n"),
		HostsFile:  hostsFile(Host{Addr: ep.Addr.Addr(), Names: []string{ep.Hostname, ep.Name}}, nil),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(ep.dir, name), data, 0o644); err != nil {
			return fmt.Errorf("container %s /etc/%s: %w", ep.ContainerID, name, err)
		}
	}
	return nil
}

// Detach releases a container's network: CNI DEL, then its namespace and
// record. It may be called again, and for containers never attached: what
// is gone already is skipped, and released is false. When DEL fails, the
// record stays, so that a later Detach can try again.
func (m *Manager) Detach(id, dir string) (released bool, _ error) {
	ep, err := readEndpoint(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		m.unregister(id)
		return false, nil
	case err != nil:
		return false, err
	}
	if ep.ContainerID != id {
		return false, fmt.Errorf("network record %s: %w: it is container %s's", filepath.Join(dir, endpointFile), ErrInvalid, ep.ContainerID)
	}
	if len(ep.ConfList) > 0 {
		if err := m.del(ep); err != nil {
			return false, fmt.Errorf("container %s network %s: %w", id, ep.Network, err)
		}
	}
	if err := removeNetns(ep.Netns); err != nil {
		return false, err
	}
	if err := os.Remove(filepath.Join(dir, endpointFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("container %s network record: %w", id, err)
	}
	m.unregister(id)
	if ep.Peers {
		m.refreshHosts(ep.NetworkID)
	}
	return true, nil
}

func (m *Manager) unregister(id string) {
	m.mu.Lock()
	delete(m.eps, id)
	m.mu.Unlock()
}

// del runs CNI DEL in the namespace, which must still exist: the bridge
// plugin finds the addresses whose NAT rules it removes on the
// container's interface.
func (m *Manager) del(ep *Endpoint) error {
	list, err := libcni.NetworkConfFromBytes(ep.ConfList)
	if err != nil {
		return fmt.Errorf("CNI configuration: %w", err)
	}
	rt := ep.runtimeConf()
	if _, err := os.Stat(ep.Netns); err != nil {
		rt.NetNS = "" // gone (a reboot): the plugins release what they can
	}
	ctx, cancel := context.WithTimeout(context.Background(), delTimeout)
	defer cancel()
	if err := m.cni.DelNetworkList(ctx, list, rt); err != nil {
		return fmt.Errorf("CNI DEL: %w", err)
	}
	return nil
}

// Restore registers a container attached by an earlier daemon, from its
// record in dir; nil when it has none.
func (m *Manager) Restore(id, dir string) (*Endpoint, error) {
	ep, err := readEndpoint(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.eps[id] = ep.clone()
	m.mu.Unlock()
	return ep, nil
}

// Sweep removes the network namespaces of containers that live reports
// unknown: left by a daemon that died between making one and recording it.
func (m *Manager) Sweep(live func(id string) bool) {
	entries, err := os.ReadDir(m.netnsDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if live(e.Name()) {
			continue
		}
		m.mu.Lock()
		_, attached := m.eps[e.Name()]
		m.mu.Unlock()
		if attached {
			continue
		}
		m.log.WithField("path", filepath.Join(m.netnsDir, e.Name())).Warn("removing the network namespace of an unknown container")
		if err := removeNetns(filepath.Join(m.netnsDir, e.Name())); err != nil {
			m.log.WithError(err).Warn("removing a network namespace")
		}
	}
}

// Endpoint returns a container's attachment; nil when it has none.
func (m *Manager) Endpoint(id string) *Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ep, ok := m.eps[id]; ok && ep.Addr.IsValid() {
		return ep.clone()
	}
	return nil
}

// Endpoints returns the containers attached to a network, by name.
func (m *Manager) Endpoints(networkID string) []*Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Endpoint
	for _, ep := range m.eps {
		if ep.NetworkID == networkID && ep.Addr.IsValid() {
			out = append(out, ep.clone())
		}
	}
	slices.SortFunc(out, func(a, b *Endpoint) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// refreshHosts rewrites the /etc/hosts of every container on a user
// network, each listing all the others by name. A file is rewritten in
// place: it is bind-mounted, so a new file would not be seen.
func (m *Manager) refreshHosts(networkID string) {
	m.hostsMu.Lock()
	defer m.hostsMu.Unlock()
	eps := m.Endpoints(networkID)
	for _, ep := range eps {
		var peers []Host
		for _, p := range eps {
			if p.ContainerID != ep.ContainerID {
				peers = append(peers, Host{Addr: p.Addr.Addr(), Names: []string{p.Name, p.Hostname}})
			}
		}
		data := hostsFile(Host{Addr: ep.Addr.Addr(), Names: []string{ep.Hostname, ep.Name}}, peers)
		if err := rewrite(filepath.Join(ep.dir, HostsFile), data); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.log.WithError(err).WithField("id", ep.ContainerID).Warn("updating the container's /etc/hosts")
		}
	}
}

// rewrite replaces the content of an existing file in one write.
func rewrite(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
