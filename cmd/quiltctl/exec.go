package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func execCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command in a running container",
		ArgsUsage: "CONTAINER [--] COMMAND [ARG...]",
		Description: `Writes the command's stdout and stderr to quiltctl's own and exits with its
status. With -i quiltctl's stdin goes to the command; with -t the command
gets a terminal, which with -i puts the local one in raw mode and follows its
size. SIGINT, SIGTERM and SIGHUP are sent to the command.`,
		StopOnNthArg: one(),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "send stdin to the command"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the command a terminal"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable: KEY=VALUE, or KEY for quiltctl's own value"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory in the container"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID] or NAME[:GROUP] to run as"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return execAction(ctx, s, cmd)
		},
	}
}

func execAction(ctx context.Context, s *session, cmd *cli.Command) error {
	args := cmd.Args().Slice()
	switch {
	case len(args) == 0:
		return fmt.Errorf("exec: %w (usage: quiltctl exec %s)", errNoID, cmd.ArgsUsage)
	case len(args) == 1:
		return fmt.Errorf("exec: %w (usage: quiltctl exec %s)", errNoCommand, cmd.ArgsUsage)
	}
	env, err := envList(cmd.StringSlice("env"))
	if err != nil {
		return err
	}
	stdin, stdout, stderr := cmd.Root().Reader, cmd.Root().Writer, cmd.Root().ErrWriter
	interactive, tty := cmd.Bool("interactive"), cmd.Bool("tty")
	start := &quiltv1.ExecStart{
		Id: args[0], Args: args[1:], Env: env,
		Workdir: cmd.String("workdir"), User: cmd.String("user"),
		Tty: tty, Stdin: interactive,
	}
	inFd, inTerm := terminalFd(stdin)
	sizeFd := -1
	if tty {
		if interactive && !inTerm {
			return errNotTerminal
		}
		if fd, ok := terminalFd(stdout); ok {
			sizeFd = fd
		} else if inTerm {
			sizeFd = inFd
		}
		start.Size = terminalSize(sizeFd)
	}
	if err := s.dial(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := s.containers.Exec(ctx)
	if err != nil {
		return err
	}
	e := &execStream{stream: stream}
	if err := e.send(&quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_Start{Start: start}}); err != nil {
		return e.startError(err)
	}
	if tty && interactive {
		old, err := term.MakeRaw(inFd)
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		defer term.Restore(inFd, old)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGWINCH)
	defer signal.Stop(sigs)
	go e.forward(ctx, sigs, sizeFd)
	if interactive {
		go e.pumpStdin(stdin)
	}
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return fmt.Errorf("exec: %w: no exit status", errStreamEnded)
		}
		if err != nil {
			return err
		}
		switch k := resp.GetKind().(type) {
		case *quiltv1.ExecResponse_Stdout:
			if _, err := stdout.Write(k.Stdout); err != nil {
				return fmt.Errorf("exec output: %w", err)
			}
		case *quiltv1.ExecResponse_Stderr:
			if _, err := stderr.Write(k.Stderr); err != nil {
				return fmt.Errorf("exec output: %w", err)
			}
		case *quiltv1.ExecResponse_ExitCode:
			if k.ExitCode != 0 {
				return exitStatus(k.ExitCode)
			}
			return nil
		}
	}
}

// execStream sends on an Exec stream from several goroutines: stdin, and
// signals and resizes.
type execStream struct {
	mu     sync.Mutex
	stream *execCall
}

func (e *execStream) send(req *quiltv1.ExecRequest) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stream.Send(req)
}

// startError is the reason quiltd gave for ending the stream, which Send
// only reports as io.EOF.
func (e *execStream) startError(err error) error {
	if err != io.EOF {
		return err
	}
	if _, rerr := e.stream.Recv(); rerr != nil && rerr != io.EOF {
		return rerr
	}
	return fmt.Errorf("exec: %w", errStreamEnded)
}

// pumpStdin sends r to the process, then closes its input at EOF.
func (e *execStream) pumpStdin(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if e.send(&quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_Stdin{Stdin: buf[:n]}}) != nil {
				return
			}
		}
		if err != nil {
			e.send(&quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_CloseStdin{CloseStdin: true}})
			return
		}
	}
}

// forward sends the signals quiltctl gets to the process, and the new size
// of the terminal sizeFd (-1 for none) when it changes.
func (e *execStream) forward(ctx context.Context, sigs <-chan os.Signal, sizeFd int) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-sigs:
			var req *quiltv1.ExecRequest
			if sig == syscall.SIGWINCH {
				if sizeFd < 0 {
					continue
				}
				req = &quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_Resize{Resize: terminalSize(sizeFd)}}
			} else {
				ss, _ := sig.(syscall.Signal)
				req = &quiltv1.ExecRequest{Kind: &quiltv1.ExecRequest_Signal{Signal: unix.SignalName(ss)}}
			}
			if e.send(req) != nil {
				return
			}
		}
	}
}

// terminalSize is the size of the terminal fd, nil when there is none.
func terminalSize(fd int) *quiltv1.TerminalSize {
	if fd < 0 {
		return nil
	}
	cols, rows, err := term.GetSize(fd)
	if err != nil {
		return nil
	}
	return &quiltv1.TerminalSize{Rows: uint32(rows), Cols: uint32(cols)}
}
