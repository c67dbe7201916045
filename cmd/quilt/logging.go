package main

import (
	"context"
	"fmt"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"
	"os"
)

// logToFile is set when --log names a file: errors then go there too, for
// containerd's shim and conmon, which read it back.
var logToFile bool

func setupLogging(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	if cmd.Bool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	switch f := cmd.String("log-format"); f {
	case "text":
		logrus.SetFormatter(&logrus.TextFormatter{})
	case "json":
		logrus.SetFormatter(&logrus.JSONFormatter{})
	default:
		return ctx, fmt.Errorf("--log-format %q: want text or json", f)
	}
	if path := cmd.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return ctx, fmt.Errorf("--log: %w", err)
		}
		logrus.SetOutput(f)
		logToFile = true
	}
	return ctx, nil
}
