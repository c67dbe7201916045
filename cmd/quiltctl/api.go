package main

import (
	"context"

	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/internal/grpcwire"
)

// The methods of quiltd's API that quiltctl calls, as gRPC names them.
// TestAPIMethods checks them against the service descriptors of
// api/quilt/v1/quiltv1grpc.
const (
	mVersion        = "/quilt.v1.System/Version"
	mImport         = "/quilt.v1.Images/Import"
	mImages         = "/quilt.v1.Images/List"
	mImageInspect   = "/quilt.v1.Images/Inspect"
	mImageRemove    = "/quilt.v1.Images/Remove"
	mCreate         = "/quilt.v1.Containers/Create"
	mStart          = "/quilt.v1.Containers/Start"
	mRun            = "/quilt.v1.Containers/Run"
	mWait           = "/quilt.v1.Containers/Wait"
	mStop           = "/quilt.v1.Containers/Stop"
	mKill           = "/quilt.v1.Containers/Kill"
	mRemove         = "/quilt.v1.Containers/Remove"
	mList           = "/quilt.v1.Containers/List"
	mInspect        = "/quilt.v1.Containers/Inspect"
	mStats          = "/quilt.v1.Containers/Stats"
	mLogs           = "/quilt.v1.Containers/Logs"
	mExec           = "/quilt.v1.Containers/Exec"
	mEvents         = "/quilt.v1.Containers/Events"
	mNetworkCreate  = "/quilt.v1.Networks/Create"
	mNetworks       = "/quilt.v1.Networks/List"
	mNetworkInspect = "/quilt.v1.Networks/Inspect"
	mNetworkRemove  = "/quilt.v1.Networks/Remove"
)

// message is a pointer to a protobuf message type T.
type message[T any] interface {
	*T
	proto.Message
}

// call makes a unary call and returns its response, errors made plain.
func call[T any, PT message[T]](ctx context.Context, s *session, method string, req proto.Message) (PT, error) {
	resp := PT(new(T))
	if err := s.conn.Invoke(ctx, method, req, resp); err != nil {
		return nil, s.plain(err)
	}
	return resp, nil
}

// stream is a call whose responses are of type PT; for Exec, requests
// are sent on it too.
type stream[T any, PT message[T]] struct {
	st *grpcwire.Stream
	s  *session
}

// Recv returns the next response; io.EOF at the end of a stream that
// ended well.
func (x *stream[T, PT]) Recv() (PT, error) {
	m := PT(new(T))
	if err := x.st.RecvMsg(m); err != nil {
		return nil, x.s.plain(err)
	}
	return m, nil
}

// Send sends a request. It returns io.EOF once the call has ended.
func (x *stream[T, PT]) Send(m proto.Message) error { return x.s.plain(x.st.SendMsg(m)) }

// CloseSend ends the requests.
func (x *stream[T, PT]) CloseSend() error { return x.st.CloseSend() }

// serverStream makes a server-streaming call.
func serverStream[T any, PT message[T]](ctx context.Context, s *session, method string, req proto.Message) (*stream[T, PT], error) {
	st, err := s.conn.NewServerStream(ctx, method, req)
	if err != nil {
		return nil, s.plain(err)
	}
	return &stream[T, PT]{st: st, s: s}, nil
}

type systemClient struct{ s *session }

func (c systemClient) Version(ctx context.Context, req *quiltv1.VersionRequest) (*quiltv1.VersionResponse, error) {
	return call[quiltv1.VersionResponse](ctx, c.s, mVersion, req)
}

type imagesClient struct{ s *session }

func (c imagesClient) Import(ctx context.Context, req *quiltv1.ImportRequest) (*stream[quiltv1.ImportProgress, *quiltv1.ImportProgress], error) {
	return serverStream[quiltv1.ImportProgress](ctx, c.s, mImport, req)
}

func (c imagesClient) List(ctx context.Context, req *quiltv1.ListImagesRequest) (*quiltv1.ListImagesResponse, error) {
	return call[quiltv1.ListImagesResponse](ctx, c.s, mImages, req)
}

func (c imagesClient) Inspect(ctx context.Context, req *quiltv1.InspectImageRequest) (*quiltv1.Image, error) {
	return call[quiltv1.Image](ctx, c.s, mImageInspect, req)
}

func (c imagesClient) Remove(ctx context.Context, req *quiltv1.RemoveImageRequest) (*quiltv1.RemoveImageResponse, error) {
	return call[quiltv1.RemoveImageResponse](ctx, c.s, mImageRemove, req)
}

type containersClient struct{ s *session }

func (c containersClient) Create(ctx context.Context, req *quiltv1.CreateRequest) (*quiltv1.Container, error) {
	return call[quiltv1.Container](ctx, c.s, mCreate, req)
}

func (c containersClient) Start(ctx context.Context, req *quiltv1.StartRequest) (*quiltv1.Container, error) {
	return call[quiltv1.Container](ctx, c.s, mStart, req)
}

// runStream is the stream of a Run call.
type runStream = stream[quiltv1.RunResponse, *quiltv1.RunResponse]

func (c containersClient) Run(ctx context.Context, req *quiltv1.CreateRequest) (*runStream, error) {
	return serverStream[quiltv1.RunResponse](ctx, c.s, mRun, req)
}

func (c containersClient) Wait(ctx context.Context, req *quiltv1.WaitRequest) (*quiltv1.WaitResponse, error) {
	return call[quiltv1.WaitResponse](ctx, c.s, mWait, req)
}

func (c containersClient) Stop(ctx context.Context, req *quiltv1.StopRequest) (*quiltv1.Container, error) {
	return call[quiltv1.Container](ctx, c.s, mStop, req)
}

func (c containersClient) Kill(ctx context.Context, req *quiltv1.KillRequest) (*quiltv1.KillResponse, error) {
	return call[quiltv1.KillResponse](ctx, c.s, mKill, req)
}

func (c containersClient) Remove(ctx context.Context, req *quiltv1.RemoveRequest) (*quiltv1.RemoveResponse, error) {
	return call[quiltv1.RemoveResponse](ctx, c.s, mRemove, req)
}

func (c containersClient) List(ctx context.Context, req *quiltv1.ListRequest) (*quiltv1.ListResponse, error) {
	return call[quiltv1.ListResponse](ctx, c.s, mList, req)
}

func (c containersClient) Inspect(ctx context.Context, req *quiltv1.InspectRequest) (*quiltv1.Container, error) {
	return call[quiltv1.Container](ctx, c.s, mInspect, req)
}

func (c containersClient) Stats(ctx context.Context, req *quiltv1.StatsRequest) (*quiltv1.ContainerStats, error) {
	return call[quiltv1.ContainerStats](ctx, c.s, mStats, req)
}

func (c containersClient) Logs(ctx context.Context, req *quiltv1.LogsRequest) (*stream[quiltv1.LogEntry, *quiltv1.LogEntry], error) {
	return serverStream[quiltv1.LogEntry](ctx, c.s, mLogs, req)
}

// execCall is the bidirectional stream of an Exec call.
type execCall = stream[quiltv1.ExecResponse, *quiltv1.ExecResponse]

func (c containersClient) Exec(ctx context.Context) (*execCall, error) {
	st, err := c.s.conn.NewStream(ctx, mExec)
	if err != nil {
		return nil, c.s.plain(err)
	}
	return &execCall{st: st, s: c.s}, nil
}

func (c containersClient) Events(ctx context.Context, req *quiltv1.EventsRequest) (*stream[quiltv1.Event, *quiltv1.Event], error) {
	return serverStream[quiltv1.Event](ctx, c.s, mEvents, req)
}

type networksClient struct{ s *session }

func (c networksClient) Create(ctx context.Context, req *quiltv1.CreateNetworkRequest) (*quiltv1.Network, error) {
	return call[quiltv1.Network](ctx, c.s, mNetworkCreate, req)
}

func (c networksClient) List(ctx context.Context, req *quiltv1.ListNetworksRequest) (*quiltv1.ListNetworksResponse, error) {
	return call[quiltv1.ListNetworksResponse](ctx, c.s, mNetworks, req)
}

func (c networksClient) Inspect(ctx context.Context, req *quiltv1.InspectNetworkRequest) (*quiltv1.Network, error) {
	return call[quiltv1.Network](ctx, c.s, mNetworkInspect, req)
}

func (c networksClient) Remove(ctx context.Context, req *quiltv1.RemoveNetworkRequest) (*quiltv1.RemoveNetworkResponse, error) {
	return call[quiltv1.RemoveNetworkResponse](ctx, c.s, mNetworkRemove, req)
}
