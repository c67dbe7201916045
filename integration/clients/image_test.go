package clients

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strings"
	"time"
)

// The images every client loads, as `docker save` writes them
// (docker-archive): containerd, Docker and podman all import that format.
const (
	busyboxRef = "localhost/quilt-busybox:latest"
	pauseRef   = "localhost/quilt-pause:latest"
)

// imageTime is the fixed time of every entry, so an image's digests do not
// change from run to run.
var imageTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// layerEntry is one file of a layer: a directory (no body, no link), a
// regular file (body) or a symbolic link (link).
type layerEntry struct {
	name string
	mode int64
	body []byte
	link string
	dir  bool
}

// writeBusyboxImage writes a one-layer image of the static busybox at
// bbPath with its applets as symbolic links, a passwd with root and nobody,
// and sh as its command.
func writeBusyboxImage(dst, bbPath string) error {
	bb, err := os.ReadFile(bbPath)
	if err != nil {
		return err
	}
	out, err := exec.Command(bbPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	var entries []layerEntry
	for _, d := range []string{"bin", "dev", "etc", "home", "proc", "root", "run", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "var"} {
		entries = append(entries, layerEntry{name: d, mode: 0o755, dir: true})
	}
	entries = append(entries,
		layerEntry{name: "tmp", mode: 0o1777, dir: true},
		layerEntry{name: "var/tmp", mode: 0o1777, dir: true},
		layerEntry{name: "bin/busybox", mode: 0o755, body: bb},
		layerEntry{name: "etc/passwd", mode: 0o644, body: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		layerEntry{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnogroup:x:65534:\n")},
		layerEntry{name: "etc/hostname", mode: 0o644, body: []byte("quilt-busybox\n")},
		layerEntry{name: "etc/hosts", mode: 0o644, body: []byte("127.0.0.1 localhost\n")},
		layerEntry{name: "etc/resolv.conf", mode: 0o644},
	)
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			entries = append(entries, layerEntry{name: "bin/" + a, mode: 0o777, link: "busybox"})
		}
	}
	cfg := imageConfig{
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd:        []string{"sh"},
		WorkingDir: "/",
	}
	return writeDockerArchive(dst, busyboxRef, entries, cfg)
}

// writePauseImage writes an image holding only the static pause program
// at pausePath, as /pause, its entrypoint.
func writePauseImage(dst, pausePath string) error {
	p, err := os.ReadFile(pausePath)
	if err != nil {
		return err
	}
	entries := []layerEntry{{name: "pause", mode: 0o755, body: p}}
	return writeDockerArchive(dst, pauseRef, entries, imageConfig{Entrypoint: []string{"/pause"}})
}

// imageConfig is the part of an image's config that the tests set: the
// process to run.
type imageConfig struct {
	Env        []string `json:"Env,omitempty"`
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
}

// writeDockerArchive writes a `docker save` tar of a one-layer image named
// ref: manifest.json, the config blob and the layer as <id>/layer.tar.
func writeDockerArchive(dst, ref string, entries []layerEntry, cfg imageConfig) error {
	layer, err := layerTar(entries)
	if err != nil {
		return err
	}
	layerSum := sha256.Sum256(layer)
	layerID := hex.EncodeToString(layerSum[:])
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      imageTime,
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerID}},
		"history":      []map[string]any{{"created": imageTime, "created_by": "quilt client tests"}},
	})
	if err != nil {
		return err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{ref},
		"Layers":   []string{layerID + "/layer.tar"},
	}})
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	files := []layerEntry{
		{name: layerID, mode: 0o755, dir: true},
		{name: layerID + "/VERSION", mode: 0o644, body: []byte("1.0")},
		{name: layerID + "/layer.tar", mode: 0o644, body: layer},
		{name: configName, mode: 0o644, body: config},
		{name: "manifest.json", mode: 0o644, body: manifest},
	}
	err = writeEntries(tw, files)
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// layerTar is the uncompressed tar of a layer's entries.
func layerTar(entries []layerEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := writeEntries(tw, entries); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeEntries(tw *tar.Writer, entries []layerEntry) error {
	for _, e := range entries {
		h := &tar.Header{
			Name:    path.Clean(e.name),
			Mode:    e.mode,
			ModTime: imageTime,
			Format:  tar.FormatPAX,
		}
		switch {
		case e.dir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("entry %s: %w", e.name, err)
		}
		if _, err := io.Copy(tw, bytes.NewReader(e.body)); err != nil {
			return fmt.Errorf("entry %s: %w", e.name, err)
		}
	}
	return nil
}
