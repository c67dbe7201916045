package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testManager is a Manager on a private bridge and subnet, in private
// directories; its bridge and rules go at the end of the test.
func testManager(t *testing.T) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	var b [3]byte
	rand.Read(b[:])
	cfg := Config{
		Bridge: "qu" + hex.EncodeToString(b[:]),
		Subnet: fmt.Sprintf("10.%d.%d.0/24", 128+int(b[0])%64, b[1]),
		Pool:   fmt.Sprintf("10.%d.0.0/16", 192+int(b[2])%32),
	}
	m0, err := New(Options{Config: Config{PluginDirs: cfg.PluginDirs}, Root: t.TempDir(), State: t.TempDir(), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if m0.DefaultMode() != DefaultNetwork {
		t.Skip("no CNI plugins")
	}
	dir := t.TempDir()
	m, err := New(Options{Config: cfg, Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range m.Networks() {
			if err := removeBridge(n.Bridge); err != nil {
				t.Error(err)
			}
		}
	})
	return m
}

// inNetns runs f in a thread in the network namespace at path; the thread
// is thrown away afterwards.
func inNetns(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// serve listens on port in the namespace and answers every connection
// with reply.
func serve(t *testing.T, netns string, port int, reply string) {
	t.Helper()
	var l net.Listener
	if err := inNetns(netns, func() (err error) {
		l, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, reply)
			c.Close()
		}
	}()
}

func fetch(addr string) (string, error) {
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// leaks counts what containers of m's networks hold on the host.
func leaks(t *testing.T, m *Manager) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, n := range m.Networks() {
		veths, _ := os.ReadDir("/sys/class/net/" + n.Bridge + "/brif")
		out["veth"] += len(veths)
		res, _ := os.ReadDir(filepath.Join(m.ipamDir, n.Bridge))
		for _, e := range res {
			if _, err := netip.ParseAddr(e.Name()); err == nil {
				out["address"]++
			}
		}
		prefix := strings.TrimSuffix(n.Subnet.Addr().String(), "0")
		for _, table := range []string{"filter", "nat"} {
			rules, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range strings.Split(string(rules), "\n") {
				if strings.Contains(r, prefix) || strings.Contains(r, `name: "`+n.Bridge+`"`) {
					out["rule"]++
				}
			}
		}
	}
	ns, _ := os.ReadDir(m.netnsDir)
	out["netns"] = len(ns)
	return out
}

func TestAttachDetach(t *testing.T) {
	m := testManager(t)
	ctx := context.Background()
	before := leaks(t, m)
	dirs := []string{t.TempDir(), t.TempDir()}
	var eps []*Endpoint
	for i, dir := range dirs {
		o := AttachOptions{ContainerID: fmt.Sprintf("%064d", i+1), Name: fmt.Sprintf("c%d", i), Hostname: fmt.Sprintf("h%d", i), Network: DefaultNetwork, Dir: dir}
		if i == 0 {
			o.Ports = []Port{{HostPort: 18000 + uint16(time.Now().UnixNano()%1000), ContainerPort: 80}}
		}
		ep, err := m.Attach(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
		n, _ := m.Get(DefaultNetwork)
		if !n.Subnet.Contains(ep.Addr.Addr()) || ep.Gateway != n.Gateway || ep.MAC == "" {
			t.Fatalf("endpoint %+v on %+v", ep, n)
		}
		hosts, err := os.ReadFile(filepath.Join(dir, HostsFile))
		if err != nil || !strings.Contains(string(hosts), ep.Addr.Addr().String()+"\th"+fmt.Sprint(i)+" c"+fmt.Sprint(i)+"\n") {
			t.Fatalf("hosts: %q %v", hosts, err)
		}
	}
	// The first one serves; the host reaches it at its address, and at the
	// published port on 127.0.0.1 and on the gateway.
	serve(t, eps[0].Netns, 80, "hello")
	p := eps[0].Ports[0]
	for _, addr := range []string{
		net.JoinHostPort(eps[0].Addr.Addr().String(), "80"),
		fmt.Sprintf("127.0.0.1:%d", p.HostPort),
		fmt.Sprintf("%s:%d", eps[0].Gateway, p.HostPort),
	} {
		if got, err := fetch(addr); got != "hello" {
			t.Errorf("from the host to %s: %q %v", addr, got, err)
		}
	}
	// The second container reaches the first.
	if err := inNetns(eps[1].Netns, func() error {
		got, err := fetch(net.JoinHostPort(eps[0].Addr.Addr().String(), "80"))
		if got != "hello" {
			return fmt.Errorf("%q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Errorf("container to container: %v", err)
	}
	// A second port on the same host port is refused.
	_, err := m.Attach(ctx, AttachOptions{ContainerID: fmt.Sprintf("%064d", 9), Name: "dup", Network: DefaultNetwork, Dir: t.TempDir(), Ports: eps[0].Ports})
	if !errors.Is(err, ErrExists) {
		t.Errorf("a published port twice: %v", err)
	}
	for i, ep := range eps {
		for range 2 { // DEL is idempotent
			if _, err := m.Detach(ep.ContainerID, dirs[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if after := leaks(t, m); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("left behind: before %v, after %v", before, after)
	}
}

// TestPeersAndSweep: containers of a user network list each other in
// /etc/hosts, rewritten in place as they come and go; a namespace of no
// known container is swept.
func TestPeersAndSweep(t *testing.T) {
	m := testManager(t)
	ctx := context.Background()
	n, err := m.Create(CreateOptions{Name: "peers"})
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	var eps []*Endpoint
	for i, name := range []string{"a", "b", "c"} {
		dirs[name] = t.TempDir()
		ep, err := m.Attach(ctx, AttachOptions{ContainerID: fmt.Sprintf("%064d", i+1), Name: name, Hostname: "h" + name, Network: "peers", Dir: dirs[name]})
		if err != nil {
			t.Fatal(err)
		}
		if !n.Subnet.Contains(ep.Addr.Addr()) {
			t.Fatalf("%s: %s outside %s", name, ep.Addr, n.Subnet)
		}
		eps = append(eps, ep)
	}
	hosts := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dirs[name], HostsFile))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	fa, err := os.Open(filepath.Join(dirs["a"], HostsFile)) // the inode a bind mount would hold
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	for _, want := range []string{eps[0].Addr.Addr().String() + "\tha a\n", eps[1].Addr.Addr().String() + "\tb hb\n", eps[2].Addr.Addr().String() + "\tc hc\n"} {
		if !strings.Contains(hosts("a"), want) {
			t.Errorf("a's hosts has no %q:\n%s", want, hosts("a"))
		}
	}
	if _, err := m.Detach(eps[2].ContainerID, dirs["c"]); err != nil {
		t.Fatal(err)
	}
	same, _ := io.ReadAll(fa)
	if strings.Contains(string(same), "\tc hc") || !strings.Contains(string(same), "\tb hb") {
		t.Errorf("a's hosts through the old descriptor after c left:\n%s", same)
	}
	if _, err := m.Remove("peers"); !errors.Is(err, ErrInUse) {
		t.Errorf("remove a network in use: %v", err)
	}
	for _, ep := range eps[:2] {
		if _, err := m.Detach(ep.ContainerID, dirs[ep.Name]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Remove("peers"); err != nil || linkExists(n.Bridge) {
		t.Errorf("remove: %v; bridge %s there: %v", err, n.Bridge, linkExists(n.Bridge))
	}
	stray := filepath.Join(m.netnsDir, "stray")
	if err := newNetns(stray); err != nil {
		t.Fatal(err)
	}
	m.Sweep(func(string) bool { return false })
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("stray namespace: %v", err)
	}
}
