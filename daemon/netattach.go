package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/daemon/network"
)

// This file connects containers to package network: the default network
// mode, the attachment at create, the release at exit, removal, a failed
// create and a restart.

// validateNetwork checks the network and the published ports of a
// configuration.
func validateNetwork(c *quiltv1.ContainerConfig) error {
	switch c.Network {
	case "", network.ModeNone, network.ModeHost, network.DefaultNetwork:
	default:
		if err := network.ValidName(c.Network); err != nil {
			return netError(err)
		}
	}
	ports, err := portsOf(c.Ports)
	if err != nil {
		return err
	}
	return netError(network.CheckPorts(ports))
}

func portsOf(ps []*quiltv1.PortMapping) ([]network.Port, error) {
	out := make([]network.Port, 0, len(ps))
	for _, p := range ps {
		np, err := portOf(p)
		if err != nil {
			return nil, err
		}
		out = append(out, np)
	}
	return out, nil
}

func portOf(p *quiltv1.PortMapping) (network.Port, error) {
	if p.HostPort > 65535 || p.ContainerPort > 65535 {
		return network.Port{}, errorf(ErrInvalid, "port mapping %d:%d: ports are 1-65535", p.HostPort, p.ContainerPort)
	}
	np, err := network.NormalizePort(network.Port{HostIP: p.HostIp, HostPort: uint16(p.HostPort), ContainerPort: uint16(p.ContainerPort), Protocol: p.Protocol})
	if err != nil {
		return np, netError(err)
	}
	return np, nil
}

// setDefaultNetwork gives a configuration that names no network the
// daemon's default, and refuses ports where nothing can publish them.
func (d *Daemon) setDefaultNetwork(c *quiltv1.ContainerConfig) error {
	if c.Network == "" {
		c.Network = d.net.DefaultMode()
	}
	if len(c.Ports) > 0 && (c.Network == network.ModeNone || c.Network == network.ModeHost) {
		return errorf(ErrInvalid, "published ports need a bridge network, and this container's network is %s", c.Network)
	}
	return nil
}

// attachNetwork attaches a container of a bridge network (CNI ADD) and
// makes its spec join the network namespace and mount the /etc files. The
// network is released by cleanupDir when the create fails later.
func (d *Daemon) attachNetwork(ctx context.Context, c *ctr, s *specs.Spec) error {
	mode := c.config.Network
	if mode == network.ModeNone || mode == network.ModeHost {
		return nil
	}
	ports, err := portsOf(c.config.Ports)
	if err != nil {
		return err
	}
	start := time.Now()
	ep, err := d.net.Attach(ctx, network.AttachOptions{
		ContainerID: c.rec.ID, Name: c.rec.Name, Hostname: s.Hostname,
		Network: mode, Ports: ports, Dir: c.dir,
	})
	if err != nil {
		return netError(fmt.Errorf("container %s: %w", c.rec.Name, err))
	}
	d.log.WithField("id", c.rec.ID).WithField("network", ep.Network).WithField("ip", ep.Addr.String()).
		WithField("duration", time.Since(start).Round(time.Millisecond).String()).Debug("network attached")
	joinNetns(s, ep)
	c.net = endpointStatus(ep)
	return nil
}

// joinNetns makes the spec join the endpoint's network namespace and
// bind-mount its resolv.conf, hosts and hostname. They stay writable, as
// Docker's are; quiltd rewrites hosts when the network's members change.
func joinNetns(s *specs.Spec, ep *network.Endpoint) {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	found := false
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			s.Linux.Namespaces[i].Path, found = ep.Netns, true
		}
	}
	if !found {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ep.Netns})
	}
	for _, dst := range []string{"/etc/resolv.conf", "/etc/hosts", "/etc/hostname"} {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: ep.Files()[dst],
			Options: []string{"rbind", "nosuid", "nodev", "noexec"}})
	}
}

// detachNetwork releases a container's network once it has exited, or is
// removed: CNI DEL, its namespace and record. c.mu is held.
func (d *Daemon) detachNetwork(c *ctr) {
	d.releaseNetwork(c.rec.ID, c.dir)
	c.net = nil
}

// releaseNetwork is detachNetwork for a container directory, which may
// belong to no container (a failed create).
func (d *Daemon) releaseNetwork(id, dir string) {
	start := time.Now()
	released, err := d.net.Detach(id, dir)
	if err != nil {
		d.log.WithError(err).WithField("id", id).Warn("releasing the container's network")
	} else if released {
		d.log.WithField("id", id).WithField("duration", time.Since(start).Round(time.Millisecond).String()).Debug("network released")
	}
}

// restoreNetworks registers the attachments of the containers a previous
// daemon left, before they are resumed (and released if they exited).
func (d *Daemon) restoreNetworks() {
	for _, c := range d.ctrs {
		ep, err := d.net.Restore(c.rec.ID, c.dir)
		if err != nil {
			d.log.WithError(err).WithField("id", c.rec.ID).Warn("reading the container's network record")
			continue
		}
		if ep != nil {
			c.net = endpointStatus(ep)
		}
	}
}

// sweepNetworks releases what resume left: the networks of containers
// that had exited before a previous daemon released them (a release of a
// container without a network record costs one failed open), and network
// namespaces of no container.
func (d *Daemon) sweepNetworks() {
	for _, c := range d.ctrs {
		c.mu.Lock()
		if c.rec.State == stateExited {
			d.detachNetwork(c)
		}
		c.mu.Unlock()
	}
	d.net.Sweep(func(id string) bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		_, ok := d.ctrs[id]
		return ok
	})
}

// networkStatus is the container's network status for the API.
func (c *ctr) networkStatus() *quiltv1.NetworkStatus {
	if c.net == nil {
		return nil
	}
	return proto.CloneOf(c.net)
}

func endpointStatus(ep *network.Endpoint) *quiltv1.NetworkStatus {
	if ep == nil || !ep.Addr.IsValid() {
		return nil
	}
	st := &quiltv1.NetworkStatus{
		Network: ep.Network, IpAddress: ep.Addr.Addr().String(), PrefixLength: int32(ep.Addr.Bits()),
		MacAddress: ep.MAC,
	}
	if ep.Gateway.IsValid() {
		st.Gateway = ep.Gateway.String()
	}
	for _, p := range ep.Ports {
		st.Ports = append(st.Ports, &quiltv1.PortMapping{HostIp: p.HostIP, HostPort: uint32(p.HostPort), ContainerPort: uint32(p.ContainerPort), Protocol: p.Protocol})
	}
	return st
}

// netError gives an error of package network the daemon's kind.
func netError(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, network.ErrNotFound):
		kind = ErrNotFound
	case errors.Is(err, network.ErrExists):
		kind = ErrExists
	case errors.Is(err, network.ErrInvalid), errors.Is(err, network.ErrPluginMissing):
		kind = ErrInvalid
	case errors.Is(err, network.ErrInUse):
		kind = ErrState
	default:
		return err
	}
	return &kindError{kind: kind, msg: err.Error(), err: err}
}
