package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageRef names the benchmark image in all three tools.
const imageRef = "localhost/quilt-bench:latest"

// writeImage writes a one-layer busybox image as a docker-save archive,
// the format quiltctl import, ctr images import and podman load all read:
// the static busybox at bb as /bin/busybox, one symbolic link per applet
// at the path `busybox --list-full` gives, a passwd and group, and sh as
// the command.
func writeImage(dst, bb string) error {
	layer, err := busyboxLayer(bb)
	if err != nil {
		return err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer)), nil
	})
	if err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = goruntime.GOARCH, "linux"
	cf.Config.Cmd = []string{"sh"}
	cf.Config.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	tag, err := name.NewTag(imageRef)
	if err != nil {
		return fmt.Errorf("image name: %w", err)
	}
	if err := tarball.WriteToFile(dst, tag, img); err != nil {
		return fmt.Errorf("write image %s: %w", dst, err)
	}
	return nil
}

// busyboxLayer returns the uncompressed tar of the image's only layer.
func busyboxLayer(bb string) ([]byte, error) {
	body, err := os.ReadFile(bb)
	if err != nil {
		return nil, fmt.Errorf("busybox: %w", err)
	}
	list, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox applet list %s: %w", bb, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(h *tar.Header, data []byte) {
		h.ModTime, h.Size = mtime, int64(len(data))
		if err == nil {
			err = tw.WriteHeader(h)
		}
		if err == nil {
			_, err = tw.Write(data)
		}
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "root", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "var"} {
		add(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}, nil)
	}
	add(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil)
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755}, body)
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/group", Mode: 0o644}, []byte("root:x:0:\n"))
	for _, line := range strings.Fields(string(list)) {
		p := path.Clean("/" + line)[1:]
		if p == "" || p == "bin/busybox" || !strings.Contains(p, "/") {
			continue
		}
		add(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: "/bin/busybox", Mode: 0o777}, nil)
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("busybox layer: %w", err)
	}
	return buf.Bytes(), nil
}
