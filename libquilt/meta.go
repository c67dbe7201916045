package libquilt

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// metaFile is Quilt's own record beside libcontainer's state.json.
const metaFile = "quilt.json"

// meta is what Quilt keeps about a container that libcontainer does not:
// the bundle and annotations for `state`, and the hooks that Quilt runs
// itself because their timing or failure rules differ from libcontainer's.
type meta struct {
	Bundle      string            `json:"bundle"`
	OCIVersion  string            `json:"ociVersion"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Process is the container's own process, the base of `exec`.
	Process   *specs.Process `json:"process,omitempty"`
	Poststart []specs.Hook   `json:"poststart,omitempty"`
	Poststop  []specs.Hook   `json:"poststop,omitempty"`
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a reader sees the old content or the new, never a part. There
// is no fsync: runtime state lives under a root that a reboot empties (runc
// recommends tmpfs), and an fsync per container start costs milliseconds on
// a disk-backed root.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func saveMeta(stateDir string, m *meta) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(stateDir, metaFile), data, 0o600); err != nil {
		return fmt.Errorf("save %s: %w", metaFile, err)
	}
	return nil
}

func loadMeta(stateDir string) (*meta, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, metaFile))
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", metaFile, err)
	}
	return &m, nil
}
