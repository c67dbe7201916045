package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func versionCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "show the versions of quiltctl and quiltd",
		Flags: []cli.Flag{formatFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if err := noArgs(cmd); err != nil {
				return err
			}
			asJSON, err := checkFormat(cmd)
			if err != nil {
				return err
			}
			var server *quiltv1.VersionResponse
			if err = s.dial(ctx); err == nil {
				server, err = s.system.Version(ctx, &quiltv1.VersionRequest{})
			}
			w := cmd.Root().Writer
			if asJSON {
				v := struct {
					Client clientVersion   `json:"client"`
					Server json.RawMessage `json:"server"`
				}{Client: clientVersion{version, commit, runtime.Version()}, Server: json.RawMessage("null")}
				if server != nil {
					if v.Server, err = jsonOptions.Marshal(server); err != nil {
						return fmt.Errorf("json: %w", err)
					}
				}
				if werr := writeIndented(w, v); werr != nil {
					return werr
				}
				return err
			}
			writeVersions(w, server)
			return err
		},
	}
}

// clientVersion is quiltctl's part of version --format json.
type clientVersion struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
}

func writeVersions(w io.Writer, server *quiltv1.VersionResponse) {
	fmt.Fprintf(w, "Client:\n Version:      %s\n Commit:       %s\n Go version:   %s\n", version, commit, runtime.Version())
	if server == nil {
		return
	}
	fmt.Fprintf(w, "\nServer:\n Version:      %s\n Commit:       %s\n API version:  %s\n Runtime spec: %s\n Go version:   %s\n",
		server.GetVersion(), server.GetCommit(), server.GetApiVersion(), server.GetRuntimeSpecVersion(), server.GetGoVersion())
}
