package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/daemon/initproto"
)

// Logs sends the container's log records that match the request; with
// follow it goes on until the container has exited and its log is read to
// the end, or ctx ends.
func (d *Daemon) Logs(ctx context.Context, req *quiltv1.LogsRequest, send func(*quiltv1.LogEntry) error) error {
	c, err := d.lookup(req.Id)
	if err != nil {
		return err
	}
	f, err := os.Open(c.logPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil // created by a daemon that died before the first line
	}
	if err != nil {
		return fmt.Errorf("container %s log: %w", c.rec.Name, err)
	}
	defer f.Close()
	if req.Tail != nil {
		if *req.Tail < 0 {
			return errorf(ErrInvalid, "tail %d must not be negative", *req.Tail)
		}
		off, err := initproto.Tail(f, int(*req.Tail))
		if err != nil {
			return err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("container %s log: %w", c.rec.Name, err)
		}
		if *req.Tail == 0 && !req.Follow {
			return nil
		}
	}
	both := req.Stdout == req.Stderr
	since := req.Since.AsTime()
	emit := func(e initproto.Entry) error {
		switch {
		case !both && req.Stdout && e.Stream != initproto.Stdout,
			!both && req.Stderr && e.Stream != initproto.Stderr,
			req.Since != nil && e.Time.Before(since):
			return nil
		}
		return send(logEntry(e))
	}
	if !req.Follow {
		return initproto.ReadLog(f, emit)
	}
	err = initproto.Follow(ctx, f, c.exited, emit)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

func logEntry(e initproto.Entry) *quiltv1.LogEntry {
	return &quiltv1.LogEntry{Stream: quiltv1.Stream(e.Stream), Time: timestamppb.New(e.Time), Data: e.Data, Partial: e.Partial}
}

// Run creates and starts a container and streams its output until it
// exits, then its exit status. When the caller goes away the container
// goes on.
func (d *Daemon) Run(ctx context.Context, o CreateOptions, send func(*quiltv1.RunResponse) error) error {
	c, err := d.create(ctx, o)
	if err != nil {
		return err
	}
	if err := send(&quiltv1.RunResponse{Kind: &quiltv1.RunResponse_Created{Created: c.toProto()}}); err != nil {
		// The caller is gone before the container ran: a container it
		// asked to be removed is not left behind.
		if c.config.AutoRemove {
			_ = d.Remove(context.Background(), c.rec.ID, true)
		}
		return err
	}
	f, err := os.Open(c.logPath())
	if err != nil {
		return fmt.Errorf("container %s log: %w", c.rec.Name, err)
	}
	defer f.Close()
	if err := d.start(c); err != nil {
		if c.config.AutoRemove {
			_ = d.Remove(context.Background(), c.rec.ID, true)
		}
		return err
	}
	err = initproto.Follow(ctx, f, c.exited, func(e initproto.Entry) error {
		return send(&quiltv1.RunResponse{Kind: &quiltv1.RunResponse_Output{Output: logEntry(e)}})
	})
	if err != nil {
		return err
	}
	if c.config.AutoRemove {
		// As `docker run --rm`: the caller learns the exit once the
		// container is gone.
		select {
		case <-c.gone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return send(&quiltv1.RunResponse{Kind: &quiltv1.RunResponse_Exit{Exit: c.exit}})
}
