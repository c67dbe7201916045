package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quilt-runtime/quilt/daemon/network"
)

// Defaults of Config.
const (
	DefaultAddress      = "/run/quilt/quiltd.sock"
	DefaultRoot         = "/var/lib/quilt"
	DefaultState        = "/run/quilt/quiltd"
	DefaultCgroupParent = "quilt"
	DefaultStopTimeout  = 10 * time.Second
)

// Config configures a daemon. It is read from a JSON file (quiltd --config)
// whose keys are the json tags; flags override it.
type Config struct {
	// Address is the unix socket the API is served on.
	Address string `json:"address,omitempty"`
	// Group, when set, may use the socket too (mode 0660); otherwise only
	// root may (0600).
	Group string `json:"group,omitempty"`
	// Root holds what survives a reboot: images, container records, logs.
	Root string `json:"root,omitempty"`
	// State holds runtime state: containers' libquilt state, sockets.
	State string `json:"state,omitempty"`
	// CgroupParent is the cgroup under which containers are placed
	// (CgroupParent/ID in every hierarchy).
	CgroupParent string `json:"cgroupParent,omitempty"`
	// InitPath is quilt-init, the containers' PID 1; empty: found in the
	// libexec directory or next to quiltd.
	InitPath string `json:"initPath,omitempty"`
	// ShellPath is quilt-sh, given to images without a working shell.
	ShellPath string `json:"shellPath,omitempty"`
	// LogLevel and LogFormat ("text" or "json") set quiltd's own logging.
	LogLevel  string `json:"logLevel,omitempty"`
	LogFormat string `json:"logFormat,omitempty"`
	// Network configures bridge networking (docs/network.md).
	Network network.Config `json:"network,omitzero"`
}

// LoadConfig reads a config file; a missing file is an error.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// withDefaults fills the unset fields and makes the directories absolute.
func (c Config) withDefaults() (Config, error) {
	set := func(p *string, def string) {
		if *p == "" {
			*p = def
		}
	}
	set(&c.Address, DefaultAddress)
	set(&c.Root, DefaultRoot)
	set(&c.State, DefaultState)
	set(&c.CgroupParent, DefaultCgroupParent)
	for _, p := range []*string{&c.Root, &c.State} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return c, err
		}
		*p = abs
	}
	if filepath.IsAbs(c.CgroupParent) || c.CgroupParent == "" {
		return c, errors.New("config: cgroupParent must be a relative cgroup path such as \"quilt\"")
	}
	return c, nil
}
