package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	"github.com/quilt-runtime/quilt/daemon"
)

func serve(ctx context.Context, cmd *cli.Command) error {
	cfg, err := config(cmd)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg)
	if err != nil {
		return err
	}
	d, err := daemon.New(cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	cfg = d.Config()
	l, err := activationListener()
	if err == nil && l == nil {
		l, err = listen(cfg.Address, cfg.Group)
	}
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	daemon.Register(srv, d, version, commit)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	go func() {
		sig := <-sigs
		log.WithField("signal", sig.String()).Info("shutting down; containers keep running")
		// Calls under way get a moment to finish; streams that follow
		// logs or events would hold a graceful stop forever.
		t := time.AfterFunc(2*time.Second, srv.Stop)
		srv.GracefulStop()
		t.Stop()
	}()
	log.WithField("address", cfg.Address).WithField("root", cfg.Root).WithField("state", cfg.State).
		WithField("version", version).Info("quiltd serving")
	notifyReady()
	if err := srv.Serve(l); err != nil {
		return fmt.Errorf("serve %s: %w", cfg.Address, err)
	}
	return nil
}

// listen opens the API socket: mode 0600 (root only) unless a group is
// given, which gets 0660. A stale socket of a dead daemon is replaced; a
// live one is an error.
func listen(path, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another quiltd is serving on %s", path)
	}
	_ = os.Remove(path)
	old := unix.Umask(0o177)
	l, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if group != "" {
		gid, err := lookupGroup(group)
		if err == nil {
			err = os.Chown(path, 0, gid)
		}
		if err == nil {
			err = os.Chmod(path, 0o660)
		}
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("socket group %s: %w", group, err)
		}
	}
	return l, nil
}

func lookupGroup(name string) (int, error) {
	if gid, err := strconv.Atoi(name); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

func newLogger(cfg daemon.Config) (*logrus.Entry, error) {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	switch cfg.LogFormat {
	case "", "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, fmt.Errorf("log format %q: want text or json", cfg.LogFormat)
	}
	if cfg.LogLevel != "" {
		lvl, err := logrus.ParseLevel(cfg.LogLevel)
		if err != nil {
			return nil, fmt.Errorf("log level %q: %w", cfg.LogLevel, err)
		}
		l.SetLevel(lvl)
	}
	return logrus.NewEntry(l), nil
}
