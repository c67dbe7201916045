package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// apiPhase times exec and logs as quiltd serves them, through its gRPC
// API on one connection the harness keeps open: quiltctl's figures less
// its process start and connection, what a long-lived client sees.
func (b *bench) apiPhase(ctx context.Context) error {
	conn, err := grpc.NewClient("unix://"+b.quiltSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("quiltd API: %w", err)
	}
	defer conn.Close()
	ctrs := quiltv1grpc.NewContainersClient(conn)
	exec := func() error {
		st, err := ctrs.Exec(ctx)
		if err == nil {
			err = st.Send(&quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_Start{Start: &quiltv1.ExecStart{Id: execName, Args: []string{"/bin/true"}}}})
		}
		if err == nil {
			err = st.CloseSend()
		}
		for err == nil {
			var r *quiltv1.ExecResponse
			if r, err = st.Recv(); err == nil && r.GetKind() != nil {
				if _, ok := r.GetKind().(*quiltv1.ExecResponse_ExitCode); ok && r.GetExitCode() != 0 {
					err = fmt.Errorf("%w: exit code %d", ErrOutput, r.GetExitCode())
				}
			}
		}
		return err
	}
	logs := func() error {
		st, err := ctrs.Logs(ctx, &quiltv1.LogsRequest{Id: execName})
		lines := 0
		for err == nil {
			if _, err = st.Recv(); err == nil {
				lines++
			}
		}
		if errors.Is(err, io.EOF) && lines != logLines {
			err = fmt.Errorf("%w: %d lines, want %d", ErrOutput, lines, logLines)
		}
		return err
	}
	for _, c := range []struct {
		name string
		call func() error
	}{{"exec (API)", exec}, {"logs (API)", logs}} {
		for i := -1; i < b.opts.Iterations; i++ {
			if ctx.Err() != nil {
				return ErrInterrupted
			}
			start := time.Now()
			if err := c.call(); !errors.Is(err, io.EOF) {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if i >= 0 {
				b.res.add(c.name, unitNanos, quiltIdx, float64(time.Since(start)))
			}
		}
	}
	return nil
}
