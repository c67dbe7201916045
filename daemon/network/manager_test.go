package network

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// Without the plugins, containers get network none by default, and a
// bridge network is refused with an error that names the plugin and
// where it was looked for.
func TestMissingPlugin(t *testing.T) {
	empty := t.TempDir()
	m, err := New(Options{Config: Config{PluginDirs: []string{empty}}, Root: t.TempDir(), State: t.TempDir(), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if m.DefaultMode() != ModeNone {
		t.Errorf("default mode %q without plugins", m.DefaultMode())
	}
	dir := t.TempDir()
	_, err = m.Attach(context.Background(), AttachOptions{ContainerID: strings.Repeat("a", 64), Name: "c", Network: DefaultNetwork, Dir: dir})
	if !errors.Is(err, ErrPluginMissing) || !strings.Contains(err.Error(), `"bridge" is not in `+empty) {
		t.Fatalf("attach: %v", err)
	}
	// Everything but portmap: bridged containers work, published ports
	// need portmap.
	for _, p := range []string{"bridge", "host-local", "firewall"} {
		if err := os.WriteFile(filepath.Join(empty, p), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err = m.Attach(context.Background(), AttachOptions{ContainerID: strings.Repeat("a", 64), Name: "c", Network: DefaultNetwork, Dir: dir,
		Ports: []Port{{HostPort: 8080, ContainerPort: 80}}})
	if !errors.Is(err, ErrPluginMissing) || !strings.Contains(err.Error(), `"portmap"`) {
		t.Fatalf("attach with a port: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left in the container's directory: %v", entries)
	}
}

func TestUserNetworkStore(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	m, err := New(Options{Config: Config{Pool: "10.200.0.0/16", Subnet: "10.200.0.0/24"}, Root: root, State: state, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Create(CreateOptions{Name: "a", Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	// The pool's first /24 is the default network's: a gets the next one.
	if a.Subnet.String() != "10.200.1.0/24" || a.Gateway.String() != "10.200.1.1" || a.Bridge != "qn-"+a.ID[:10] {
		t.Errorf("network a: %+v", a)
	}
	if _, err := m.Create(CreateOptions{Name: "a"}); !errors.Is(err, ErrExists) {
		t.Errorf("a twice: %v", err)
	}
	if _, err := m.Create(CreateOptions{Name: "b", Subnet: "10.200.1.128/25"}); !errors.Is(err, ErrExists) {
		t.Errorf("an overlapping subnet: %v", err)
	}
	if _, err := m.Create(CreateOptions{Name: "c", Bridge: a.Bridge}); !errors.Is(err, ErrExists) {
		t.Errorf("a's bridge again: %v", err)
	}
	for _, name := range []string{"bridge", "host", "none", "x/y"} {
		if _, err := m.Create(CreateOptions{Name: name}); !errors.Is(err, ErrInvalid) {
			t.Errorf("network %q: %v", name, err)
		}
	}
	// A new manager reads it back; ids and prefixes find it.
	m2, err := New(Options{Config: Config{Pool: "10.200.0.0/16", Subnet: "10.200.0.0/24"}, Root: root, State: state, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"a", a.ID, a.ID[:8]} {
		if n, err := m2.Get(ref); err != nil || n.Subnet != a.Subnet || n.Labels["k"] != "v" {
			t.Errorf("get %q: %+v %v", ref, n, err)
		}
	}
	if _, err := m2.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get nope: %v", err)
	}
	if names := len(m2.Networks()); names != 2 {
		t.Errorf("%d networks, want bridge and a", names)
	}
	if _, err := m2.Remove("bridge"); !errors.Is(err, ErrInvalid) {
		t.Errorf("remove bridge: %v", err)
	}
	if os.Geteuid() == 0 {
		if _, err := m2.Remove("a"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "networks", "a.json")); !os.IsNotExist(err) {
			t.Errorf("a.json: %v", err)
		}
	}
}

// quiet is a logger for tests.
func quiet() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}
