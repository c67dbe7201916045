package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// The fake's Containers service: see fakeDaemon for its scripts.

// create makes a container from req as quiltd would, importing image_path
// when the image is not known.
func (f *fakeDaemon) create(req *quiltv1.CreateRequest) (*quiltv1.Container, error) {
	cfg := req.GetConfig()
	f.mu.Lock()
	img := f.findImage(cfg.GetImage())
	f.mu.Unlock()
	ref := cfg.GetImage()
	if img == nil && req.ImagePath != "" {
		if _, err := os.Stat(req.ImagePath); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "image_path %s: no such file", req.ImagePath)
		}
		img, ref = f.addImage(req.ImagePath), req.ImagePath
	}
	if img == nil {
		return nil, status.Errorf(codes.NotFound, "no such image: %s", cfg.GetImage())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := cfg.GetName()
	if name == "" {
		name = fmt.Sprintf("c%d", len(f.containers)+1)
	}
	if other := f.findContainer(name); other != nil {
		return nil, status.Errorf(codes.AlreadyExists, "the name %s is in use by container %s", name, shortID(other.Id))
	}
	command := cfg.GetArgs()
	if cfg.GetShell() != "" {
		command = []string{"/bin/sh", "-c", cfg.GetShell()}
	}
	c := &quiltv1.Container{
		Id: digest(name), Name: name, Image: ref, ImageId: img.Id,
		Status: quiltv1.Status_STATUS_CREATED, CreatedAt: timestamppb.New(f.now),
		Config: cfg, Command: command,
	}
	f.containers = append(f.containers, c)
	f.kills[c.Id] = make(chan string, 4)
	return proto.CloneOf(c), nil
}

func (f *fakeContainers) Create(_ context.Context, req *quiltv1.CreateRequest) (*quiltv1.Container, error) {
	f.record(req)
	return f.create(req)
}

func (f *fakeContainers) Start(_ context.Context, req *quiltv1.StartRequest) (*quiltv1.Container, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(req.Id)
	if c == nil {
		return nil, noContainer(req.Id)
	}
	if c.Status != quiltv1.Status_STATUS_CREATED {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is not created", req.Id)
	}
	c.Status, c.StartedAt = quiltv1.Status_STATUS_RUNNING, timestamppb.New(f.now)
	return proto.CloneOf(c), nil
}

func (f *fakeContainers) Run(req *quiltv1.CreateRequest, stream grpc.ServerStreamingServer[quiltv1.RunResponse]) error {
	f.record(req)
	c, err := f.create(req)
	if err != nil {
		return err
	}
	// early-raise=SIG comes before quiltctl knows the container.
	if sig, ok := strings.CutPrefix(strings.Join(c.Command, " "), "early-raise="); ok {
		sig, _, _ = strings.Cut(sig, " ")
		if err := syscall.Kill(os.Getpid(), unix.SignalNum(sig)); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stream.Send(&quiltv1.RunResponse{Kind: &quiltv1.RunResponse_Created{Created: c}}); err != nil {
		return err
	}
	output := func(s quiltv1.Stream, text string) error {
		return stream.Send(&quiltv1.RunResponse{Kind: &quiltv1.RunResponse_Output{Output: &quiltv1.LogEntry{
			Stream: s, Time: timestamppb.New(f.now), Data: []byte(text + "\n"),
		}}})
	}
	exit := &quiltv1.WaitResponse{}
	for _, step := range c.Command {
		key, val, _ := strings.Cut(step, "=")
		switch key {
		case "out":
			err = output(quiltv1.Stream_STREAM_STDOUT, val)
		case "err":
			err = output(quiltv1.Stream_STREAM_STDERR, val)
		case "exit":
			n, _ := strconv.Atoi(val)
			exit.ExitCode = int32(n)
		case "oom":
			exit.ExitCode, exit.OomKilled = 137, true
		case "raise":
			err = syscall.Kill(os.Getpid(), unix.SignalNum(val))
		case "ignore-kill":
			f.mu.Lock()
			ch := f.kills[c.Id]
			f.mu.Unlock()
			select {
			case <-ch:
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
		case "hang":
			<-stream.Context().Done()
			return stream.Context().Err()
		case "wait-kill":
			f.mu.Lock()
			ch := f.kills[c.Id]
			f.mu.Unlock()
			select {
			case sig := <-ch:
				// The signal ends the container; the rest of the script
				// never runs.
				exit.ExitCode = 128 + int32(unix.SignalNum(sig))
				return stream.Send(&quiltv1.RunResponse{Kind: &quiltv1.RunResponse_Exit{Exit: exit}})
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
		}
		if err != nil {
			return err
		}
	}
	return stream.Send(&quiltv1.RunResponse{Kind: &quiltv1.RunResponse_Exit{Exit: exit}})
}

func (f *fakeContainers) Wait(_ context.Context, req *quiltv1.WaitRequest) (*quiltv1.WaitResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(req.Id)
	if c == nil {
		return nil, noContainer(req.Id)
	}
	return &quiltv1.WaitResponse{ExitCode: c.ExitCode, OomKilled: c.OomKilled}, nil
}

func (f *fakeContainers) Stop(_ context.Context, req *quiltv1.StopRequest) (*quiltv1.Container, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(req.Id)
	if c == nil {
		return nil, noContainer(req.Id)
	}
	c.Status, c.ExitCode = quiltv1.Status_STATUS_EXITED, 143
	return proto.CloneOf(c), nil
}

func (f *fakeContainers) Kill(_ context.Context, req *quiltv1.KillRequest) (*quiltv1.KillResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(req.Id)
	if c == nil {
		return nil, noContainer(req.Id)
	}
	if unix.SignalNum(req.Signal) == 0 && unix.SignalNum("SIG"+req.Signal) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "unknown signal %q", req.Signal)
	}
	if ch := f.kills[c.Id]; ch != nil {
		ch <- req.Signal
	}
	return &quiltv1.KillResponse{}, nil
}

func (f *fakeContainers) Remove(_ context.Context, req *quiltv1.RemoveRequest) (*quiltv1.RemoveResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(req.Id)
	if c == nil {
		return nil, noContainer(req.Id)
	}
	if c.Status == quiltv1.Status_STATUS_RUNNING && !req.Force {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is running: stop it first, or remove it with force", c.Name)
	}
	f.containers = slices.DeleteFunc(f.containers, func(x *quiltv1.Container) bool { return x == c })
	return &quiltv1.RemoveResponse{Id: c.Id}, nil
}

func (f *fakeContainers) List(_ context.Context, req *quiltv1.ListRequest) (*quiltv1.ListResponse, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &quiltv1.ListResponse{}
	for _, c := range f.containers {
		switch {
		case !req.All && c.Status != quiltv1.Status_STATUS_RUNNING,
			len(req.Status) > 0 && !slices.Contains(req.Status, c.Status),
			!strings.Contains(c.Name, req.Name),
			req.Image != "" && c.Image != req.Image:
			continue
		}
		match := true
		for k, v := range req.Labels {
			got, ok := c.GetConfig().GetLabels()[k]
			match = match && ok && (v == "" || got == v)
		}
		if match {
			resp.Containers = append(resp.Containers, c)
		}
	}
	return resp, nil
}

func (f *fakeContainers) Inspect(_ context.Context, req *quiltv1.InspectRequest) (*quiltv1.Container, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.findContainer(req.Id); c != nil {
		return c, nil
	}
	return nil, noContainer(req.Id)
}

func (f *fakeContainers) Stats(_ context.Context, req *quiltv1.StatsRequest) (*quiltv1.ContainerStats, error) {
	f.record(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(req.Id)
	if c == nil {
		return nil, noContainer(req.Id)
	}
	if c.Status != quiltv1.Status_STATUS_RUNNING {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is not running", c.Name)
	}
	// Half a CPU since it started, a quarter of its memory limit.
	up := f.now.Sub(c.StartedAt.AsTime())
	limit := uint64(c.GetConfig().GetResources().GetMemory())
	return &quiltv1.ContainerStats{
		Id: c.Id, CpuUsage: uint64(up.Nanoseconds() / 2), MemoryUsage: limit / 4, MemoryLimit: limit,
		Pids: 3, ReadAt: timestamppb.New(f.now),
	}, nil
}

// fakeLog is what every container of the fake wrote.
var fakeLog = []*quiltv1.LogEntry{
	{Stream: quiltv1.Stream_STREAM_STDOUT, Data: []byte("one\n")},
	{Stream: quiltv1.Stream_STREAM_STDERR, Data: []byte("two\n")},
	{Stream: quiltv1.Stream_STREAM_STDOUT, Data: []byte("thr"), Partial: true},
	{Stream: quiltv1.Stream_STREAM_STDOUT, Data: []byte("ee\n")},
}

func (f *fakeContainers) Logs(req *quiltv1.LogsRequest, stream grpc.ServerStreamingServer[quiltv1.LogEntry]) error {
	f.record(req)
	f.mu.Lock()
	c := f.findContainer(req.Id)
	f.mu.Unlock()
	if c == nil {
		return noContainer(req.Id)
	}
	entries := fakeLog
	if req.Tail != nil {
		entries = entries[len(entries)-int(min(*req.Tail, int64(len(entries)))):]
	}
	for i, e := range entries {
		e = proto.CloneOf(e)
		e.Time = timestamppb.New(time.Date(2026, 11, 28, 13, 50, i, 5000, time.UTC))
		if err := stream.Send(e); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeContainers) Exec(stream grpc.BidiStreamingServer[quiltv1.ExecRequest, quiltv1.ExecResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	f.record(first)
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "the first exec message must carry start")
	}
	f.mu.Lock()
	c := f.findContainer(start.Id)
	f.mu.Unlock()
	if c == nil {
		return noContainer(start.Id)
	}
	if c.Status != quiltv1.Status_STATUS_RUNNING {
		return status.Errorf(codes.FailedPrecondition, "container %s is not running", c.Name)
	}
	send := func(r *quiltv1.ExecResponse) error { return stream.Send(r) }
	if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Pid{Pid: 42}}); err != nil {
		return err
	}
	code := int32(0)
	switch start.Args[0] {
	case "cat":
		// Without stdin the process reads /dev/null.
	cat:
		for start.Stdin {
			req, err := stream.Recv()
			if err != nil {
				return err
			}
			f.record(req)
			if req.GetCloseStdin() {
				break cat
			}
			if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stdout{Stdout: req.GetStdin()}}); err != nil {
				return err
			}
		}
	case "exit":
		n, _ := strconv.Atoi(start.Args[1])
		code = int32(n)
		if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stderr{Stderr: []byte("bye\n")}}); err != nil {
			return err
		}
	case "size":
		text := fmt.Sprintf("%v %dx%d\n", start.Tty, start.GetSize().GetRows(), start.GetSize().GetCols())
		if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stdout{Stdout: []byte(text)}}); err != nil {
			return err
		}
	case "resize":
		// Says its size, then waits for a resize and for a line of input.
		text := fmt.Sprintf("ready %dx%d\n", start.GetSize().GetRows(), start.GetSize().GetCols())
		if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stdout{Stdout: []byte(text)}}); err != nil {
			return err
		}
		var input []byte
		resized := false
		for !resized || !bytes.Contains(input, []byte("\r")) {
			req, err := stream.Recv()
			if err != nil {
				return err
			}
			f.record(req)
			if r := req.GetResize(); r != nil && !resized {
				resized = true
				text := fmt.Sprintf("resized %dx%d\n", r.Rows, r.Cols)
				if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stdout{Stdout: []byte(text)}}); err != nil {
					return err
				}
			}
			input = append(input, req.GetStdin()...)
		}
		if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stdout{Stdout: append(append([]byte("got "), input...), '\n')}}); err != nil {
			return err
		}
		code = 7
	default:
		return status.Errorf(codes.NotFound, "exec %s: executable file not found in $PATH", start.Args[0])
	}
	return send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_ExitCode{ExitCode: code}})
}

func (f *fakeContainers) Events(req *quiltv1.EventsRequest, stream grpc.ServerStreamingServer[quiltv1.Event]) error {
	f.record(req)
	events := []*quiltv1.Event{
		{Type: "create", Id: "aaa", Name: "web", Time: timestamppb.New(time.Date(2026, 11, 28, 13, 50, 0, 0, time.UTC))},
		{Type: "exit", Id: "aaa", Name: "web", ExitCode: 3, Attributes: map[string]string{"image": "busybox"}, Time: timestamppb.New(time.Date(2026, 11, 28, 13, 50, 1, 0, time.UTC))},
	}
	for _, e := range events {
		if len(req.Types) > 0 && !slices.Contains(req.Types, e.Type) {
			continue
		}
		if err := stream.Send(e); err != nil {
			return err
		}
	}
	return nil
}
