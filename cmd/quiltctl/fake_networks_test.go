package main

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// fakeNetworks is the fake's Networks service: the default network
// "bridge" and the networks created.
type fakeNetworks struct {
	quiltv1grpc.UnimplementedNetworksServer
	*fakeDaemon
}

func (f *fakeDaemon) networkList() []*quiltv1.Network {
	def := &quiltv1.Network{Id: digest("bridge"), Name: "bridge", Driver: "bridge", Bridge: "quilt0",
		Subnet: "10.77.0.0/16", Gateway: "10.77.0.1", IsDefault: true,
		Containers: []*quiltv1.NetworkEndpoint{{Id: digest("web"), Name: "web", IpAddress: "10.77.0.2/16"}}}
	return append([]*quiltv1.Network{def}, f.networks...)
}

func (f *fakeDaemon) findNetwork(ref string) *quiltv1.Network {
	for _, n := range f.networkList() {
		if n.Name == ref || ref != "" && strings.HasPrefix(n.Id, ref) {
			return n
		}
	}
	return nil
}

func (f *fakeNetworks) Create(_ context.Context, req *quiltv1.CreateNetworkRequest) (*quiltv1.Network, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.findNetwork(req.Name) != nil {
		return nil, status.Errorf(codes.AlreadyExists, "already in use: network %s already exists", req.Name)
	}
	subnet := req.Subnet
	if subnet == "" {
		subnet = "10.78.0.0/24"
	}
	bridge := req.Bridge
	if bridge == "" {
		bridge = "qn-" + digest(req.Name)[:10]
	}
	n := &quiltv1.Network{Id: digest(req.Name), Name: req.Name, Driver: "bridge", Bridge: bridge,
		Subnet: subnet, Gateway: strings.TrimSuffix(subnet, "0/24") + "1", Labels: req.Labels}
	f.networks = append(f.networks, n)
	return n, nil
}

func (f *fakeNetworks) List(_ context.Context, req *quiltv1.ListNetworksRequest) (*quiltv1.ListNetworksResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	return &quiltv1.ListNetworksResponse{Networks: f.networkList()}, nil
}

func (f *fakeNetworks) Inspect(_ context.Context, req *quiltv1.InspectNetworkRequest) (*quiltv1.Network, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.findNetwork(req.Name); n != nil {
		return n, nil
	}
	return nil, status.Errorf(codes.NotFound, "no such network: %s", req.Name)
}

func (f *fakeNetworks) Remove(_ context.Context, req *quiltv1.RemoveNetworkRequest) (*quiltv1.RemoveNetworkResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.findNetwork(req.Name)
	switch {
	case n == nil:
		return nil, status.Errorf(codes.NotFound, "no such network: %s", req.Name)
	case n.IsDefault:
		return nil, status.Errorf(codes.InvalidArgument, "the default network bridge cannot be removed")
	}
	f.networks = slices.DeleteFunc(f.networks, func(x *quiltv1.Network) bool { return x == n })
	return &quiltv1.RemoveNetworkResponse{Id: n.Id}, nil
}
