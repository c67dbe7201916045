package main

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// parseVolume reads -v SRC:DST[:ro|rw]: a bind mount of the host path SRC
// (made absolute against the working directory) at DST in the container.
func parseVolume(spec string) (*quiltv1.Mount, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("%q: %w (want SRC:DST or SRC:DST:ro)", spec, errInvalidMount)
	}
	m := &quiltv1.Mount{Type: "bind"}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.ReadOnly = true
			case "rw":
				m.ReadOnly = false
			default:
				return nil, fmt.Errorf("%q: %w: unknown option %q (ro or rw)", spec, errInvalidMount, o)
			}
		}
	}
	if err := setSource(m, parts[0]); err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	if err := setDestination(m, parts[1]); err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	return m, nil
}

// parseTmpfs reads --tmpfs DST[:OPTIONS]: a tmpfs at DST with mount options
// ("size=64m,mode=1777"); "ro" makes it read-only.
func parseTmpfs(spec string) (*quiltv1.Mount, error) {
	dst, opts, _ := strings.Cut(spec, ":")
	m := &quiltv1.Mount{Type: "tmpfs"}
	if err := setDestination(m, dst); err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			if err := addTmpfsOption(m, o); err != nil {
				return nil, fmt.Errorf("%q: %w", spec, err)
			}
		}
	}
	return m, nil
}

// parseMount reads --mount type=bind|tmpfs,source=SRC,destination=DST,
// readonly, with docker's names: src, target, dst, ro, tmpfs-size,
// tmpfs-mode.
func parseMount(spec string) (*quiltv1.Mount, error) {
	m := &quiltv1.Mount{}
	var src, dst string
	var tmpfsOpts []string
	for _, field := range strings.Split(spec, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		switch key {
		case "type":
			m.Type = val
		case "source", "src":
			src = val
		case "destination", "dst", "target":
			dst = val
		case "readonly", "ro":
			switch val {
			case "", "true", "1":
				m.ReadOnly = true
			case "false", "0":
				m.ReadOnly = false
			default:
				return nil, fmt.Errorf("%q: %w: %s=%q (true or false)", spec, errInvalidMount, key, val)
			}
			continue
		case "tmpfs-size":
			tmpfsOpts = append(tmpfsOpts, "size="+val)
		case "tmpfs-mode":
			tmpfsOpts = append(tmpfsOpts, "mode="+val)
		default:
			return nil, fmt.Errorf("%q: %w: unknown key %q (type, source, destination, readonly, tmpfs-size, tmpfs-mode)", spec, errInvalidMount, key)
		}
		if !hasVal || val == "" {
			return nil, fmt.Errorf("%q: %w: %s needs a value", spec, errInvalidMount, key)
		}
	}
	switch m.Type {
	case "bind":
		if len(tmpfsOpts) > 0 {
			return nil, fmt.Errorf("%q: %w: tmpfs options on a bind mount", spec, errInvalidMount)
		}
		if err := setSource(m, src); err != nil {
			return nil, fmt.Errorf("%q: %w", spec, err)
		}
	case "tmpfs":
		if src != "" {
			return nil, fmt.Errorf("%q: %w: a tmpfs has no source", spec, errInvalidMount)
		}
		m.Options = tmpfsOpts
	case "":
		return nil, fmt.Errorf("%q: %w: missing type=bind or type=tmpfs", spec, errInvalidMount)
	default:
		return nil, fmt.Errorf("%q: %w: type %q (bind or tmpfs)", spec, errInvalidMount, m.Type)
	}
	if err := setDestination(m, dst); err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	return m, nil
}

// setSource sets a bind mount's host path, made absolute.
func setSource(m *quiltv1.Mount, src string) error {
	if src == "" {
		return fmt.Errorf("%w: missing source", errInvalidMount)
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("source %s: %w", src, err)
	}
	m.Source = abs
	return nil
}

// setDestination sets the path in the container, which must be absolute.
func setDestination(m *quiltv1.Mount, dst string) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("%w: destination %q is not an absolute path", errInvalidMount, dst)
	}
	m.Destination = path.Clean(dst)
	return nil
}

// addTmpfsOption adds one --tmpfs option; ro and rw set read-only.
func addTmpfsOption(m *quiltv1.Mount, o string) error {
	switch o {
	case "":
		return fmt.Errorf("%w: empty option", errInvalidMount)
	case "ro":
		m.ReadOnly = true
	case "rw":
		m.ReadOnly = false
	default:
		m.Options = append(m.Options, o)
	}
	return nil
}
