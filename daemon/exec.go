package daemon

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/daemon/initproto"
	"github.com/quilt-runtime/quilt/libquilt"
)

// Exec runs a process in a running container through its quilt-init and
// streams its output and exit code. Messages from in feed its stdin,
// terminal size and signals; in closing means no more input.
func (d *Daemon) Exec(ctx context.Context, start *quiltv1.ExecStart, in <-chan *quiltv1.ExecRequest, send func(*quiltv1.ExecResponse) error) error {
	c, err := d.lookup(start.Id)
	if err != nil {
		return err
	}
	req, socket, err := d.execRequest(c, start)
	if err != nil {
		return err
	}
	client, err := initproto.Dial(ctx, socket)
	if err != nil {
		return fmt.Errorf("exec in container %s: %w", c.rec.Name, err)
	}
	defer client.Close()
	p, err := client.Start(req)
	if code := startFailure(err); code != 0 {
		// As a shell would: the reason on stderr, 127 or 126.
		msg := []byte(err.Error() + "\n")
		if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stderr{Stderr: msg}}); err != nil {
			return err
		}
		return send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_ExitCode{ExitCode: code}})
	}
	if err != nil {
		return fmt.Errorf("exec in container %s: %w", c.rec.Name, err)
	}
	if err := send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Pid{Pid: int32(p.Pid)}}); err != nil {
		return err
	}
	go feed(ctx, p, in, start.Stdin)
	err = p.Output(func(s initproto.Stream, data []byte) error {
		b := append([]byte(nil), data...)
		if s == initproto.Stderr {
			return send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stderr{Stderr: b}})
		}
		return send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_Stdout{Stdout: b}})
	})
	if err != nil {
		return err
	}
	code, err := p.Wait()
	if err != nil {
		return err
	}
	return send(&quiltv1.ExecResponse{Kind: &quiltv1.ExecResponse_ExitCode{ExitCode: int32(code)}})
}

// feed passes the client's input to the process until in closes.
func feed(ctx context.Context, p *initproto.Process, in <-chan *quiltv1.ExecRequest, stdin bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-in:
			if !ok {
				if stdin {
					_ = p.CloseStdin()
				}
				return
			}
			switch k := msg.Kind.(type) {
			case *quiltv1.ExecRequest_Stdin:
				_, _ = p.Write(k.Stdin)
			case *quiltv1.ExecRequest_CloseStdin:
				_ = p.CloseStdin()
			case *quiltv1.ExecRequest_Resize:
				_ = p.Resize(uint16(k.Resize.Rows), uint16(k.Resize.Cols))
			case *quiltv1.ExecRequest_Signal:
				if sig, err := libquilt.ParseSignal(k.Signal); err == nil {
					_ = p.Signal(sig)
				}
			}
		}
	}
}

// execRequest builds the agent's request from the container's defaults
// and the client's overrides.
func (d *Daemon) execRequest(c *ctr, start *quiltv1.ExecStart) (initproto.ExecRequest, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var req initproto.ExecRequest
	if c.rec.State != stateRunning || c.rec.Socket == "" {
		return req, "", errorf(ErrState, "container %s is not running", c.rec.Name)
	}
	if len(start.Args) == 0 || start.Args[0] == "" {
		return req, "", errorf(ErrInvalid, "no command to exec")
	}
	for _, e := range start.Env {
		if k, _, ok := envKey(e); !ok {
			return req, "", errorf(ErrInvalid, "invalid environment variable %q: use KEY=value", k)
		}
	}
	if start.Workdir != "" && !path.IsAbs(start.Workdir) {
		return req, "", errorf(ErrInvalid, "working directory %q must be an absolute path", start.Workdir)
	}
	pd := c.rec.Process
	req = initproto.ExecRequest{
		Args: start.Args, Env: mergeEnv(pd.Env, start.Env), Cwd: pd.Cwd,
		UID: pd.UID, GID: pd.GID, Groups: pd.Groups,
		TTY: start.Tty, Stdin: start.Stdin,
	}
	if start.Workdir != "" {
		req.Cwd = start.Workdir
	}
	if start.User != "" {
		u, err := resolveUser(filepath.Join(c.bundlePath(), "rootfs"), start.User)
		if err != nil {
			return req, "", err
		}
		req.UID, req.GID, req.Groups = u.UID, u.GID, u.AdditionalGids
	}
	if sz := start.Size; sz != nil {
		req.Rows, req.Cols = uint16(sz.Rows), uint16(sz.Cols)
	}
	return req, c.rec.Socket, nil
}

func envKey(e string) (string, string, bool) {
	for i := 0; i < len(e); i++ {
		if e[i] == '=' {
			return e[:i], e[i+1:], i > 0
		}
	}
	return e, "", false
}

// startFailure is the exit code for a command that could not be started,
// 0 for other errors.
func startFailure(err error) int32 {
	switch {
	case errors.Is(err, initproto.ErrNotFound):
		return 127
	case errors.Is(err, initproto.ErrNotExecutable):
		return 126
	}
	return 0
}
