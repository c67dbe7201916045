package daemon

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// Register adds the daemon's services to a gRPC server. The services are a
// thin layer: they call the daemon and turn its errors into status codes.
func Register(s *grpc.Server, d *Daemon, version, commit string) {
	quiltv1grpc.RegisterSystemServer(s, &systemService{d: d, version: version, commit: commit})
	quiltv1grpc.RegisterImagesServer(s, &imageService{d: d})
	quiltv1grpc.RegisterContainersServer(s, &containerService{d: d})
	quiltv1grpc.RegisterNetworksServer(s, &networkService{d: d})
}

// toStatus maps an error of the daemon to a gRPC status at the boundary.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrExists):
		code = codes.AlreadyExists
	case errors.Is(err, ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, ErrState):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrResource):
		code = codes.ResourceExhausted
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

type systemService struct {
	quiltv1grpc.UnimplementedSystemServer
	d               *Daemon
	version, commit string
}

func (s *systemService) Version(context.Context, *quiltv1.VersionRequest) (*quiltv1.VersionResponse, error) {
	return Version(s.version, s.commit), nil
}

func (s *systemService) Health(ctx context.Context, _ *quiltv1.HealthRequest) (*quiltv1.HealthResponse, error) {
	h, err := s.d.Health(ctx)
	return h, toStatus(err)
}

type imageService struct {
	quiltv1grpc.UnimplementedImagesServer
	d *Daemon
}

func (s *imageService) Import(req *quiltv1.ImportRequest, stream grpc.ServerStreamingServer[quiltv1.ImportProgress]) error {
	img, err := s.d.ImportImage(stream.Context(), req, func(p *quiltv1.ImportProgress) { _ = stream.Send(p) })
	if err != nil {
		return toStatus(err)
	}
	return stream.Send(&quiltv1.ImportProgress{Phase: "done", Image: img})
}

func (s *imageService) List(ctx context.Context, _ *quiltv1.ListImagesRequest) (*quiltv1.ListImagesResponse, error) {
	imgs, err := s.d.ListImages(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &quiltv1.ListImagesResponse{Images: imgs}, nil
}

func (s *imageService) Inspect(ctx context.Context, req *quiltv1.InspectImageRequest) (*quiltv1.Image, error) {
	img, err := s.d.InspectImage(ctx, req.Ref)
	return img, toStatus(err)
}

func (s *imageService) Remove(ctx context.Context, req *quiltv1.RemoveImageRequest) (*quiltv1.RemoveImageResponse, error) {
	id, err := s.d.RemoveImage(ctx, req.Ref, req.Force)
	if err != nil {
		return nil, toStatus(err)
	}
	return &quiltv1.RemoveImageResponse{Id: id}, nil
}

type containerService struct {
	quiltv1grpc.UnimplementedContainersServer
	d *Daemon
}

func (s *containerService) Create(ctx context.Context, req *quiltv1.CreateRequest) (*quiltv1.Container, error) {
	c, err := s.d.Create(ctx, CreateOptions{Config: req.Config, ImagePath: req.ImagePath})
	return c, toStatus(err)
}

func (s *containerService) Start(ctx context.Context, req *quiltv1.StartRequest) (*quiltv1.Container, error) {
	c, err := s.d.Start(ctx, req.Id)
	return c, toStatus(err)
}

func (s *containerService) Run(req *quiltv1.CreateRequest, stream grpc.ServerStreamingServer[quiltv1.RunResponse]) error {
	return toStatus(s.d.Run(stream.Context(), CreateOptions{Config: req.Config, ImagePath: req.ImagePath}, stream.Send))
}

func (s *containerService) Wait(ctx context.Context, req *quiltv1.WaitRequest) (*quiltv1.WaitResponse, error) {
	w, err := s.d.Wait(ctx, req.Id)
	return w, toStatus(err)
}

func (s *containerService) Stop(ctx context.Context, req *quiltv1.StopRequest) (*quiltv1.Container, error) {
	timeout := DefaultStopTimeout
	if req.Timeout != nil {
		if *req.Timeout < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "stop timeout %d must not be negative", *req.Timeout)
		}
		timeout = time.Duration(*req.Timeout) * time.Second
	}
	c, err := s.d.Stop(ctx, req.Id, req.Signal, timeout)
	return c, toStatus(err)
}

func (s *containerService) Kill(ctx context.Context, req *quiltv1.KillRequest) (*quiltv1.KillResponse, error) {
	if err := s.d.Kill(ctx, req.Id, req.Signal); err != nil {
		return nil, toStatus(err)
	}
	return &quiltv1.KillResponse{}, nil
}

func (s *containerService) Remove(ctx context.Context, req *quiltv1.RemoveRequest) (*quiltv1.RemoveResponse, error) {
	c, err := s.d.lookup(req.Id)
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.d.Remove(ctx, req.Id, req.Force); err != nil {
		return nil, toStatus(err)
	}
	return &quiltv1.RemoveResponse{Id: c.rec.ID}, nil
}

func (s *containerService) List(ctx context.Context, req *quiltv1.ListRequest) (*quiltv1.ListResponse, error) {
	list, err := s.d.List(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &quiltv1.ListResponse{Containers: list}, nil
}

func (s *containerService) Inspect(ctx context.Context, req *quiltv1.InspectRequest) (*quiltv1.Container, error) {
	c, err := s.d.Inspect(ctx, req.Id)
	return c, toStatus(err)
}

func (s *containerService) Stats(ctx context.Context, req *quiltv1.StatsRequest) (*quiltv1.ContainerStats, error) {
	st, err := s.d.Stats(ctx, req.Id)
	return st, toStatus(err)
}

func (s *containerService) Logs(req *quiltv1.LogsRequest, stream grpc.ServerStreamingServer[quiltv1.LogEntry]) error {
	return toStatus(s.d.Logs(stream.Context(), req, stream.Send))
}

func (s *containerService) Events(req *quiltv1.EventsRequest, stream grpc.ServerStreamingServer[quiltv1.Event]) error {
	return toStatus(s.d.Events(stream.Context(), req, stream.Send))
}

func (s *containerService) Exec(stream grpc.BidiStreamingServer[quiltv1.ExecRequest, quiltv1.ExecResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "the first exec message must start the process")
	}
	in := make(chan *quiltv1.ExecRequest)
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	go func() {
		defer close(in)
		for {
			msg, err := stream.Recv()
			if err == io.EOF || err != nil {
				return
			}
			select {
			case in <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	return toStatus(s.d.Exec(ctx, start, in, stream.Send))
}
