package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"
	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func logsCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "show what a container wrote to stdout and stderr",
		ArgsUsage: "CONTAINER",
		Description: `Lines the container wrote to stdout go to quiltctl's stdout, the others to
its stderr. --since takes a duration back from now (10m, 1h30m), an RFC 3339
time (2026-11-28T13:50:00Z), a local date and time (2026-11-28T13:50:00,
2026-11-28) or Unix seconds.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep showing new output until the container exits"},
			&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all", Usage: "show only the last N lines"},
			&cli.StringFlag{Name: "since", Usage: "show only lines written since this time"},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "begin each line with the time it was written"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return fmt.Errorf("logs: want one container (usage: quiltctl logs %s)", cmd.ArgsUsage)
			}
			req := &quiltv1.LogsRequest{Id: cmd.Args().First(), Follow: cmd.Bool("follow")}
			if t := cmd.String("tail"); t != "all" && t != "" {
				n, err := strconv.ParseInt(t, 10, 64)
				if err != nil || n < 0 {
					return fmt.Errorf("--tail %q: want a number of lines or all", t)
				}
				req.Tail = &n
			}
			if sc := cmd.String("since"); sc != "" {
				t, err := parseSince(sc, time.Now())
				if err != nil {
					return fmt.Errorf("--since %q: %w", sc, err)
				}
				req.Since = timestamppb.New(t)
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			stream, err := s.containers.Logs(ctx, req)
			if err != nil {
				return err
			}
			p := newLogPrinter(cmd.Root().Writer, cmd.Root().ErrWriter, cmd.Bool("timestamps"))
			for {
				e, err := stream.Recv()
				if err == io.EOF {
					return p.flush()
				}
				if err != nil {
					p.flush()
					return err
				}
				if err := p.print(e); err != nil {
					return err
				}
				// Following, a line shows as soon as it comes.
				if req.Follow {
					if err := p.flush(); err != nil {
						return err
					}
				}
			}
		},
	}
}

// logTimeLayout is the time of logs --timestamps, fixed width.
const logTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// logPrinter writes log entries to stdout and stderr, buffered. Switching
// streams flushes the other, so that the two interleave in order.
type logPrinter struct {
	timestamps bool
	out, err   *bufio.Writer
	last       *bufio.Writer
	// midLine is set for a stream whose last entry was a partial line.
	midLine map[*bufio.Writer]bool
}

func newLogPrinter(stdout, stderr io.Writer, timestamps bool) *logPrinter {
	return &logPrinter{
		timestamps: timestamps,
		out:        bufio.NewWriterSize(stdout, 64<<10),
		err:        bufio.NewWriterSize(stderr, 64<<10),
		midLine:    map[*bufio.Writer]bool{},
	}
}

func (p *logPrinter) print(e *quiltv1.LogEntry) error {
	w := p.out
	if e.GetStream() == quiltv1.Stream_STREAM_STDERR {
		w = p.err
	}
	if p.last != nil && p.last != w {
		if err := p.last.Flush(); err != nil {
			return err
		}
	}
	p.last = w
	if p.timestamps && !p.midLine[w] {
		w.WriteString(e.GetTime().AsTime().UTC().Format(logTimeLayout))
		w.WriteByte(' ')
	}
	p.midLine[w] = e.GetPartial()
	_, err := w.Write(e.GetData())
	return err
}

func (p *logPrinter) flush() error {
	if err := p.out.Flush(); err != nil {
		return err
	}
	return p.err.Flush()
}
