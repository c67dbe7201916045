package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func runCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "create and start a container, and show its output",
		ArgsUsage: "(IMAGE | --image-path FILE) [--] [COMMAND [ARG...]]",
		Description: `In the foreground quiltctl writes the container's stdout and stderr to its
own as they come and exits with the container's status (137 when it was
killed for running out of memory). The first SIGINT or SIGTERM is sent to the
container; a second one leaves it running and returns. With -d quiltctl
prints the container's id and returns. It exits with 125 when the container
cannot be created or started.

The command replaces the image's cmd; it is passed as it is (argv), never
through a shell, even when it is one argument that looks like a command line:
use --sh "a; b | c" to run a shell command line.`,
		StopOnNthArg: one(),
		Flags: append(containerFlags(),
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "start the container and print its id"},
		),
		OnUsageError: usageError(exitRunFailure),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Bool("detach") {
				return runDetached(ctx, s, cmd)
			}
			return runForeground(ctx, s, cmd)
		},
	}
}

func runDetached(ctx context.Context, s *session, cmd *cli.Command) error {
	c, err := create(ctx, s, cmd)
	if err != nil {
		return &codedError{code: exitRunFailure, err: err}
	}
	started, err := s.containers.Start(ctx, &quiltv1.StartRequest{Id: c.GetId()})
	if err != nil {
		return &codedError{code: exitRunFailure, err: err}
	}
	if msg := started.GetError(); msg != "" {
		return &codedError{code: exitRunFailure, err: fmt.Errorf("container %s: %s", displayName(c), msg)}
	}
	fmt.Fprintln(cmd.Root().Writer, c.GetId())
	return nil
}

// runCall is an open Run call and its first message.
type runCall struct {
	stream *runStream
	first  *quiltv1.RunResponse
}

func runForeground(ctx context.Context, s *session, cmd *cli.Command) error {
	req, imagePath, err := createRequest(cmd)
	if err != nil {
		return &codedError{code: exitRunFailure, err: err}
	}
	if err := s.dial(ctx); err != nil {
		return &codedError{code: exitRunFailure, err: err}
	}
	stdout := cmd.Root().Writer
	stderr := &syncWriter{w: cmd.Root().ErrWriter}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Signals are caught from now on: the first is forwarded once the
	// container exists, a second one gives up waiting.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	created := make(chan *quiltv1.Container, 1)
	detached := make(chan syscall.Signal, 1)
	go forwardSignals(ctx, s, created, sigs, stderr, func(sig syscall.Signal) {
		detached <- sig
		cancel()
	})

	rs, err := withImagePath(req, imagePath, func(req *quiltv1.CreateRequest) (runCall, error) {
		stream, err := s.containers.Run(ctx, req)
		if err != nil {
			return runCall{}, err
		}
		first, err := stream.Recv()
		if err == io.EOF {
			err = errStreamEnded
		}
		return runCall{stream, first}, err
	})
	if err == nil && rs.first.GetCreated() == nil {
		err = fmt.Errorf("run: %w: no container", errStreamEnded)
	}
	if err != nil {
		select {
		case sig := <-detached:
			fmt.Fprintln(stderr, "quiltctl: interrupted before quiltd created the container (see quiltctl ps -a)")
			return exitStatus(128 + int(sig))
		default:
		}
		return &codedError{code: exitRunFailure, err: err}
	}
	c := rs.first.GetCreated()
	created <- c
	for {
		msg, err := rs.stream.Recv()
		if err != nil {
			select {
			case sig := <-detached:
				fmt.Fprintf(stderr, "quiltctl: container %s keeps running (quiltctl stop %s stops it)\n", displayName(c), displayName(c))
				return exitStatus(128 + int(sig))
			default:
			}
			return lostRun(ctx, s, c, req, stderr, err)
		}
		switch k := msg.GetKind().(type) {
		case *quiltv1.RunResponse_Output:
			w := stdout
			if k.Output.GetStream() == quiltv1.Stream_STREAM_STDERR {
				w = stderr
			}
			if _, err := w.Write(k.Output.GetData()); err != nil {
				return fmt.Errorf("container %s output: %w", displayName(c), err)
			}
		case *quiltv1.RunResponse_Exit:
			return exited(c, req, k.Exit, stderr)
		}
	}
}

// forwardSignals sends the first SIGINT or SIGTERM to the container as
// docker does, once quiltd has created it, and calls detach on the second.
func forwardSignals(ctx context.Context, s *session, created <-chan *quiltv1.Container, sigs <-chan os.Signal, stderr io.Writer, detach func(syscall.Signal)) {
	var c *quiltv1.Container
	var pending syscall.Signal
	forward := func(sig syscall.Signal) {
		name := unix.SignalName(sig)
		if _, err := s.containers.Kill(ctx, &quiltv1.KillRequest{Id: c.GetId(), Signal: name}); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "quiltctl: send %s to container %s: %v\n", name, displayName(c), err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case c = <-created:
			created = nil
			if pending != 0 {
				forward(pending)
			}
		case sig := <-sigs:
			ss, _ := sig.(syscall.Signal)
			switch {
			case pending != 0:
				detach(ss)
				return
			case c == nil:
				pending = ss
			default:
				pending = ss
				forward(ss)
			}
		}
	}
}

// lostRun handles a Run stream that ended without the exit status: quiltd
// is asked for the status once more, since the container may well run on.
func lostRun(ctx context.Context, s *session, c *quiltv1.Container, req *quiltv1.CreateRequest, stderr io.Writer, err error) error {
	if errors.Is(err, io.EOF) {
		err = errStreamEnded
	}
	if ctx.Err() != nil {
		return &codedError{code: exitRunFailure, err: err}
	}
	w, werr := s.containers.Wait(ctx, &quiltv1.WaitRequest{Id: c.GetId()})
	if werr != nil {
		return &codedError{code: exitRunFailure, err: fmt.Errorf("container %s: %w", displayName(c), err)}
	}
	return exited(c, req, w, stderr)
}

// exited turns the container's exit into quiltctl's status, and says so
// when the kernel killed it for want of memory.
func exited(c *quiltv1.Container, req *quiltv1.CreateRequest, w *quiltv1.WaitResponse, stderr io.Writer) error {
	code := int(w.GetExitCode())
	if w.GetOomKilled() {
		limit := c.GetConfig().GetResources().GetMemory()
		if limit <= 0 {
			limit = req.GetConfig().GetResources().GetMemory()
		}
		var what string
		if limit > 0 {
			what = " (limit " + formatSize(uint64(limit)) + ")"
		}
		fmt.Fprintf(stderr, "quiltctl: container %s was killed: out of memory%s\n", displayName(c), what)
		if code == 0 {
			code = 128 + int(syscall.SIGKILL)
		}
	}
	if code == 0 {
		return nil
	}
	return exitStatus(code)
}
