package daemon

import (
	"context"
	"maps"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
	"github.com/quilt-runtime/quilt/daemon/network"
)

// CreateNetwork adds a user network.
func (d *Daemon) CreateNetwork(ctx context.Context, req *quiltv1.CreateNetworkRequest) (*quiltv1.Network, error) {
	n, err := d.net.Create(network.CreateOptions{
		Name: req.Name, Subnet: req.Subnet, Gateway: req.Gateway, Bridge: req.Bridge, Labels: req.Labels,
	})
	if err != nil {
		return nil, netError(err)
	}
	d.events.publish(&quiltv1.Event{Type: "network-create", Id: n.ID, Name: n.Name, Time: timestamppb.Now()})
	d.log.WithField("name", n.Name).WithField("subnet", n.Subnet.String()).Info("network created")
	return d.networkProto(n), nil
}

// ListNetworks returns the default network and the user networks.
func (d *Daemon) ListNetworks(ctx context.Context) ([]*quiltv1.Network, error) {
	var out []*quiltv1.Network
	for _, n := range d.net.Networks() {
		out = append(out, d.networkProto(n))
	}
	return out, nil
}

// InspectNetwork describes a network and the containers attached to it.
func (d *Daemon) InspectNetwork(ctx context.Context, ref string) (*quiltv1.Network, error) {
	if ref == "" {
		return nil, errorf(ErrInvalid, "no network given")
	}
	n, err := d.net.Get(ref)
	if err != nil {
		return nil, netError(err)
	}
	return d.networkProto(n), nil
}

// RemoveNetwork deletes a user network that no container is attached to.
func (d *Daemon) RemoveNetwork(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", errorf(ErrInvalid, "no network given")
	}
	n, err := d.net.Remove(ref)
	if err != nil {
		return "", netError(err)
	}
	d.events.publish(&quiltv1.Event{Type: "network-remove", Id: n.ID, Name: n.Name, Time: timestamppb.Now()})
	d.log.WithField("name", n.Name).Info("network removed")
	return n.ID, nil
}

func (d *Daemon) networkProto(n *network.Network) *quiltv1.Network {
	p := &quiltv1.Network{
		Id: n.ID, Name: n.Name, Driver: "bridge", Bridge: n.Bridge, Subnet: n.Subnet.String(),
		Gateway: n.Gateway.String(), Labels: maps.Clone(n.Labels), IsDefault: n.Default,
	}
	if !n.Created.IsZero() {
		p.CreatedAt = timestamppb.New(n.Created)
	}
	for _, ep := range d.net.Endpoints(n.ID) {
		p.Containers = append(p.Containers, &quiltv1.NetworkEndpoint{
			Id: ep.ContainerID, Name: ep.Name, IpAddress: ep.Addr.String(), MacAddress: ep.MAC,
		})
	}
	return p
}

type networkService struct {
	quiltv1grpc.UnimplementedNetworksServer
	d *Daemon
}

func (s *networkService) Create(ctx context.Context, req *quiltv1.CreateNetworkRequest) (*quiltv1.Network, error) {
	n, err := s.d.CreateNetwork(ctx, req)
	return n, toStatus(err)
}

func (s *networkService) List(ctx context.Context, _ *quiltv1.ListNetworksRequest) (*quiltv1.ListNetworksResponse, error) {
	list, err := s.d.ListNetworks(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &quiltv1.ListNetworksResponse{Networks: list}, nil
}

func (s *networkService) Inspect(ctx context.Context, req *quiltv1.InspectNetworkRequest) (*quiltv1.Network, error) {
	n, err := s.d.InspectNetwork(ctx, req.Name)
	return n, toStatus(err)
}

func (s *networkService) Remove(ctx context.Context, req *quiltv1.RemoveNetworkRequest) (*quiltv1.RemoveNetworkResponse, error) {
	id, err := s.d.RemoveNetwork(ctx, req.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	return &quiltv1.RemoveNetworkResponse{Id: id}, nil
}
