package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// fakeDaemon is quiltd's API in the test process: it records every request
// and answers from a small in-memory store of images and containers.
//
// A container's command is a script of steps, one argument each:
// out=TEXT and err=TEXT write a line, exit=N ends with status N, oom ends
// as the OOM killer would, raise=SIG sends SIG to the test process (that is,
// to quiltctl; early-raise=SIG as the first step before the container is
// reported created), wait-kill ends once Kill was called, with 128+signal,
// ignore-kill waits for a Kill and goes on, and hang waits until the client
// goes.
// Exec knows the commands cat (stdin to stdout), exit N, size (the
// terminal size) and resize (waits for a resize and a line, then exits 7).
type fakeDaemon struct {
	mu         sync.Mutex
	requests   []proto.Message
	images     []*quiltv1.Image
	containers []*quiltv1.Container
	networks   []*quiltv1.Network
	kills      map[string]chan string
	now        time.Time
}

// fakeSystem, fakeImages and fakeContainers are the fake's three services.
type (
	fakeSystem struct {
		quiltv1grpc.UnimplementedSystemServer
		*fakeDaemon
	}
	fakeImages struct {
		quiltv1grpc.UnimplementedImagesServer
		*fakeDaemon
	}
	fakeContainers struct {
		quiltv1grpc.UnimplementedContainersServer
		*fakeDaemon
	}
)

// fakeNow is the fake's clock, so that tables show known ages.
var fakeNow = time.Now()

// startFake serves a fakeDaemon on a unix socket in a private directory and
// returns it and the socket's path.
func startFake(t *testing.T) (*fakeDaemon, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "quiltd.sock")
	return startFakeAt(t, sock), sock
}

// startFakeAt serves a fakeDaemon on the socket sock.
func startFakeAt(t *testing.T, sock string) *fakeDaemon {
	t.Helper()
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDaemon{kills: map[string]chan string{}, now: fakeNow}
	srv := grpc.NewServer()
	quiltv1grpc.RegisterSystemServer(srv, &fakeSystem{fakeDaemon: f})
	quiltv1grpc.RegisterImagesServer(srv, &fakeImages{fakeDaemon: f})
	quiltv1grpc.RegisterContainersServer(srv, &fakeContainers{fakeDaemon: f})
	quiltv1grpc.RegisterNetworksServer(srv, &fakeNetworks{fakeDaemon: f})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return f
}

// quiltctl runs the command line against the socket and returns its
// stdout, stderr and exit status.
func quiltctl(t *testing.T, sock string, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, append([]string{"quiltctl", "--address", sock}, args...), stdin, &out, &errb)
	return out.String(), errb.String(), code
}

func (f *fakeDaemon) record(m proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, proto.Clone(m))
}

// all returns every request so far.
func (f *fakeDaemon) all() []proto.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// recorded returns the requests of type M, in order.
func recorded[M proto.Message](f *fakeDaemon) []M {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ms []M
	for _, r := range f.requests {
		if m, ok := r.(M); ok {
			ms = append(ms, m)
		}
	}
	return ms
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// addImage stores an image named by names.
func (f *fakeDaemon) addImage(names ...string) *quiltv1.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := &quiltv1.Image{
		Id: "sha256:" + digest(names[0]), Names: names, Format: "OCI image layout",
		Size: 5 << 20, ImportedAt: timestamppb.New(f.now.Add(-2 * time.Minute)),
	}
	f.images = append(f.images, img)
	return img
}

func (f *fakeDaemon) findImage(ref string) *quiltv1.Image {
	for _, img := range f.images {
		if strings.HasPrefix(img.Id, ref) || strings.HasPrefix(strings.TrimPrefix(img.Id, "sha256:"), ref) || slices.Contains(img.Names, ref) {
			return img
		}
	}
	return nil
}

// addContainer stores a container as if it had been created.
func (f *fakeDaemon) addContainer(c *quiltv1.Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers = append(f.containers, c)
}

func (f *fakeDaemon) findContainer(ref string) *quiltv1.Container {
	for _, c := range f.containers {
		if c.Name == ref || ref != "" && strings.HasPrefix(c.Id, ref) {
			return c
		}
	}
	return nil
}

func noContainer(ref string) error {
	return status.Errorf(codes.NotFound, "no such container: %s", ref)
}

func (f *fakeSystem) Version(_ context.Context, req *quiltv1.VersionRequest) (*quiltv1.VersionResponse, error) {
	f.record(req)
	return &quiltv1.VersionResponse{Version: "9.9.9", Commit: "f00d", ApiVersion: "v1", RuntimeSpecVersion: "1.3.0", GoVersion: "go1.26"}, nil
}

func (f *fakeImages) Import(req *quiltv1.ImportRequest, stream grpc.ServerStreamingServer[quiltv1.ImportProgress]) error {
	f.record(req)
	fi, err := os.Stat(req.Path)
	if err != nil {
		return status.Errorf(codes.NotFound, "no image at %s", req.Path)
	}
	steps := []*quiltv1.ImportProgress{
		{Phase: "reading", Bytes: 0, Total: fi.Size()},
		{Phase: "reading", Bytes: fi.Size(), Total: fi.Size()},
		{Phase: "unpacking", Layer: 1, Layers: 2, Bytes: 10, Total: 20},
		{Phase: "unpacking", Layer: 2, Layers: 2, Bytes: 20, Total: 20},
	}
	for _, p := range steps {
		if err := stream.Send(p); err != nil {
			return err
		}
	}
	names := []string{req.Path}
	if req.Name != "" {
		names = append(names, req.Name)
	}
	return stream.Send(&quiltv1.ImportProgress{Phase: "done", Image: f.addImage(names...)})
}

func (f *fakeImages) List(_ context.Context, req *quiltv1.ListImagesRequest) (*quiltv1.ListImagesResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	return &quiltv1.ListImagesResponse{Images: f.images}, nil
}

func (f *fakeImages) Inspect(_ context.Context, req *quiltv1.InspectImageRequest) (*quiltv1.Image, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if img := f.findImage(req.Ref); img != nil {
		return img, nil
	}
	return nil, status.Errorf(codes.NotFound, "no such image: %s", req.Ref)
}

func (f *fakeImages) Remove(_ context.Context, req *quiltv1.RemoveImageRequest) (*quiltv1.RemoveImageResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.findImage(req.Ref)
	if img == nil {
		return nil, status.Errorf(codes.NotFound, "no such image: %s", req.Ref)
	}
	for _, c := range f.containers {
		if c.ImageId == img.Id && !req.Force {
			return nil, status.Errorf(codes.FailedPrecondition, "image %s is used by container %s", req.Ref, c.Name)
		}
	}
	f.images = slices.DeleteFunc(f.images, func(i *quiltv1.Image) bool { return i == img })
	return &quiltv1.RemoveImageResponse{Id: img.Id}, nil
}
