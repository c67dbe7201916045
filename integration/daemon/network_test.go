package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// TestBridgeNetwork: a container of the default network has eth0 with an
// address of the daemon's subnet, a default route through the bridge,
// the host's resolvers, and /etc/hosts and /etc/hostname of its own; while
// it runs, inspect shows its address; once it has exited, its network is
// gone.
func TestBridgeNetwork(t *testing.T) {
	d := startDaemon(t)
	gw := d.net.subnet.Addr().Next()
	cfg := sh(`ip -4 -o addr show eth0; ip route; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; ping -c 1 -W 2 ` + gw.String() + ` >/dev/null && echo gateway ok`)
	cfg.Name, cfg.Hostname = "netbox", "nb"
	r := d.run(t, cfg)
	if r.exit.ExitCode != 0 {
		t.Fatalf("exit %d: %s%s", r.exit.ExitCode, r.stdout, r.stderr)
	}
	parts := strings.Split(r.stdout, "---\n")
	if len(parts) != 4 {
		t.Fatalf("output %q", r.stdout)
	}
	addr := addrOf(t, parts[0])
	if !d.net.subnet.Contains(addr) || addr == gw {
		t.Errorf("eth0 address %s is not one of %s", addr, d.net.subnet)
	}
	if !strings.Contains(parts[0], "default via "+gw.String()+" dev eth0") {
		t.Errorf("no default route via %s:\n%s", gw, parts[0])
	}
	if want := hostNameservers(t); !strings.Contains(parts[1], want) {
		t.Errorf("resolv.conf:\n%s\nwant %q", parts[1], want)
	}
	if !strings.Contains(parts[2], "127.0.0.1\tlocalhost\n") || !strings.Contains(parts[2], addr.String()+"\tnb netbox\n") {
		t.Errorf("hosts:\n%s", parts[2])
	}
	if !strings.HasPrefix(parts[3], "nb\ngateway ok\n") {
		t.Errorf("hostname and ping: %q", parts[3])
	}
	if c, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: r.id}); err != nil || c.Network != nil || c.Config.Network != "bridge" {
		t.Errorf("an exited container: network %v, config %q, %v", c.GetNetwork(), c.GetConfig().GetNetwork(), err)
	}

	c := d.runDetached(t, argv("sleep", "60"))
	got, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: c.Id})
	if err != nil {
		t.Fatal(err)
	}
	n := got.Network
	if n == nil || n.Network != "bridge" || !d.net.subnet.Contains(netip.MustParseAddr(n.IpAddress)) || n.PrefixLength != 24 ||
		n.Gateway != gw.String() || n.MacAddress == "" {
		t.Fatalf("network of a running container: %v", n)
	}
	if _, err := d.ctrs.Stop(ctx(t), &quiltv1.StopRequest{Id: c.Id}); err != nil {
		t.Fatal(err)
	}
	d.checkNoNetwork(t, c.Id)
	// none and host are as before: loopback only, the host's interfaces.
	r = d.run(t, &quiltv1.ContainerConfig{Shell: "ls /sys/class/net", Network: "none"})
	if r.stdout != "lo\n" {
		t.Errorf("network none: %q %q", r.stdout, r.stderr)
	}
	r = d.run(t, &quiltv1.ContainerConfig{Shell: "ls /sys/class/net", Network: "host"})
	if hostIfs, _ := os.ReadDir("/sys/class/net"); strings.Count(r.stdout, "\n") != len(hostIfs) {
		t.Errorf("network host: %q, the host has %d interfaces", r.stdout, len(hostIfs))
	}
	_, err = d.ctrs.Create(ctx(t), &quiltv1.CreateRequest{Config: withImage(&quiltv1.ContainerConfig{Network: "nosuch", Args: []string{"true"}})})
	wantCode(t, err, codes.NotFound, "no such network: nosuch")
	_, err = d.ctrs.Create(ctx(t), &quiltv1.CreateRequest{Config: withImage(&quiltv1.ContainerConfig{Network: "none", Args: []string{"true"},
		Ports: []*quiltv1.PortMapping{{HostPort: 1, ContainerPort: 1}}})})
	wantCode(t, err, codes.InvalidArgument, "published ports need a bridge network")
}

// TestOutboundNAT: a container reaches an address outside the host (a
// namespace standing for another machine, behind a veth) through the
// host, which masquerades it: the other side sees the host's address.
func TestOutboundNAT(t *testing.T) {
	d := startDaemon(t)
	outside := newOutside(t)
	l := listenIn(t, outside.netns, "tcp4", ":7777")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "you are "+c.RemoteAddr().(*net.TCPAddr).IP.String()+"\n")
			c.Close()
		}
	}()
	r := d.run(t, sh(`ip -4 -o addr show eth0; nc `+outside.addr.String()+` 7777 </dev/null`))
	addr := addrOf(t, r.stdout)
	if want := "you are " + outside.host.String() + "\n"; !strings.HasSuffix(r.stdout, want) || addr == outside.host {
		t.Fatalf("container %s: %q %q, want %q", addr, r.stdout, r.stderr, want)
	}
}

// TestPublishedPorts: -p publishes a container's port on every host
// address, 127.0.0.1 and the bridge's included, or on one; a port is
// published once; the rules go with the container.
func TestPublishedPorts(t *testing.T) {
	d := startDaemon(t)
	gw := d.net.subnet.Addr().Next()
	web := `mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www`
	p1 := freePort(t)
	cfg := sh(web)
	cfg.Name, cfg.Hostname = "web1", "web1"
	cfg.Ports = []*quiltv1.PortMapping{{HostPort: uint32(p1), ContainerPort: 80}}
	c1 := d.runDetached(t, cfg)
	for _, host := range []string{"127.0.0.1", gw.String()} {
		if got := httpGet(t, host, p1, true); got != "hello from web1\n" {
			t.Errorf("%s:%d: %q", host, p1, got)
		}
	}
	// quiltctl -p HOST_IP:...: published on 127.0.0.1 only.
	p2 := freePort(t)
	out, stderr, code := d.quiltctl(t, "run", "-d", "--name", "web2", "--hostname", "web2", "-p", fmt.Sprintf("127.0.0.1:%d:80", p2),
		"--image-path", imagePath, "--sh", web)
	if code != 0 {
		t.Fatalf("quiltctl run -p: %d %s %s", code, out, stderr)
	}
	if got := httpGet(t, "127.0.0.1", p2, true); got != "hello from web2\n" {
		t.Errorf("127.0.0.1:%d: %q", p2, got)
	}
	if got := httpGet(t, gw.String(), p2, false); got != "" {
		t.Errorf("%s:%d answers, but the port is published on 127.0.0.1 only: %q", gw, p2, got)
	}
	got, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: "web2"})
	if err != nil || len(got.Network.GetPorts()) != 1 || got.Network.Ports[0].HostIp != "127.0.0.1" || got.Network.Ports[0].Protocol != "tcp" {
		t.Errorf("inspect: %v %v", got.GetNetwork(), err)
	}
	// A host port is published once, and never over a program of the host.
	cfg = argv("true")
	cfg.Ports = []*quiltv1.PortMapping{{HostIp: "127.0.0.1", HostPort: uint32(p1), ContainerPort: 81}}
	_, err = d.ctrs.Create(ctx(t), &quiltv1.CreateRequest{Config: withImage(cfg)})
	wantCode(t, err, codes.AlreadyExists, "published by container web1")
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg.Ports[0].HostPort = uint32(l.Addr().(*net.TCPAddr).Port)
	_, err = d.ctrs.Create(ctx(t), &quiltv1.CreateRequest{Config: withImage(cfg)})
	wantCode(t, err, codes.AlreadyExists, "in use by a program of the host")
	// UDP, to nettool (busybox has no UDP server).
	tool, err := netTool()
	if err != nil {
		t.Fatal(err)
	}
	p3 := freePort(t)
	cfg = argv("/opt/nettool", "udp", "9")
	cfg.Mounts = []*quiltv1.Mount{{Type: "bind", Source: tool, Destination: "/opt/nettool", ReadOnly: true}}
	cfg.Ports = []*quiltv1.PortMapping{{HostPort: uint32(p3), ContainerPort: 9, Protocol: "udp"}}
	c3 := d.runDetached(t, cfg)
	d.waitLog(t, c3.Id, "listening")
	u, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", p3))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "ping")
	u.Close()
	d.waitLog(t, c3.Id, `datagram "ping" from `)
	for _, id := range []string{c1.Id, "web2", c3.Id} {
		if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: id, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	if got := httpGet(t, "127.0.0.1", p1, false); got != "" {
		t.Errorf("the port answers after the container's removal: %q", got)
	}
	for _, p := range []int{p1, p2, p3} {
		if rules := rulesWith(t, "--dport "+strconv.Itoa(p)); len(rules) > 0 {
			t.Errorf("rules left for port %d: %q", p, rules)
		}
	}
}

// TestUserNetworks: containers of a network reach each other by name and
// address, and see each other come and go in /etc/hosts; containers of
// another network reach neither; a network is removed, with its bridge,
// once no container uses it.
func TestUserNetworks(t *testing.T) {
	d := startDaemon(t)
	out, stderr, code := d.quiltctl(t, "network", "create", "front")
	if code != 0 {
		t.Fatalf("network create: %s %s", out, stderr)
	}
	back, err := d.nets.Create(ctx(t), &quiltv1.CreateNetworkRequest{Name: "back", Labels: map[string]string{"tier": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	front, err := d.nets.Inspect(ctx(t), &quiltv1.InspectNetworkRequest{Name: "front"})
	if err != nil || strings.TrimSpace(out) != front.Id {
		t.Fatalf("inspect front: %v %v", front, err)
	}
	fs, bs := netip.MustParsePrefix(front.Subnet), netip.MustParsePrefix(back.Subnet)
	if !d.net.pool.Contains(fs.Addr()) || !d.net.pool.Contains(bs.Addr()) || fs.Overlaps(bs) || fs.Bits() != 24 {
		t.Fatalf("subnets %s and %s, from the pool %s", fs, bs, d.net.pool)
	}
	_, err = d.nets.Create(ctx(t), &quiltv1.CreateNetworkRequest{Name: "back"})
	wantCode(t, err, codes.AlreadyExists, "network back already exists")
	_, err = d.nets.Create(ctx(t), &quiltv1.CreateNetworkRequest{Name: "other", Subnet: back.Subnet})
	wantCode(t, err, codes.AlreadyExists, "overlaps network back")
	_, err = d.nets.Create(ctx(t), &quiltv1.CreateNetworkRequest{Name: "bridge"})
	wantCode(t, err, codes.InvalidArgument, "reserved")

	web := func(name, network string) *quiltv1.Container {
		cfg := sh(`mkdir -p /www && echo "I am ` + name + `" > /www/index.html && exec httpd -f -p 80 -h /www`)
		cfg.Name, cfg.Network = name, network
		return d.runDetached(t, cfg)
	}
	a1 := web("a1", "front")
	a2 := web("a2", "front")
	b1 := web("b1", "back")
	a1ip := d.ipOf(t, a1.Id)
	for _, c := range []struct {
		from, url, want string
	}{
		{a2.Id, "http://a1/", "I am a1\n"},
		{a1.Id, "http://a2/", "I am a2\n"},
		{a2.Id, "http://" + a1ip + "/", "I am a1\n"},
		{b1.Id, "http://" + a1ip + "/", "unreachable"},
		{b1.Id, "http://a1/", "unreachable"},
	} {
		// busybox 1.35's wget crashes with -T: timeout bounds it.
		got, _ := d.exec(t, c.from, "sh", "-c", "timeout 3 wget -q -O- "+c.url+" 2>/dev/null || echo unreachable")
		if got != c.want+map[bool]string{true: "\n"}[c.want == "unreachable"] {
			t.Errorf("%s from %s: %q, want %q", c.url, c.from[:12], got, c.want)
		}
	}
	// a3 joins: a1's /etc/hosts has it; a3 leaves: a1's loses it.
	a3 := web("a3", "front")
	a3ip := d.ipOf(t, a3.Id)
	if hosts, _ := d.exec(t, a1.Id, "cat", "/etc/hosts"); !strings.Contains(hosts, a3ip+"\ta3") {
		t.Errorf("a1's hosts after a3 started:\n%s", hosts)
	}
	if _, err := d.ctrs.Stop(ctx(t), &quiltv1.StopRequest{Id: a3.Id}); err != nil {
		t.Fatal(err)
	}
	if hosts, _ := d.exec(t, a1.Id, "cat", "/etc/hosts"); strings.Contains(hosts, a3ip+"\t") || strings.Contains(hosts, " a3\n") {
		t.Errorf("a1's hosts after a3 stopped:\n%s", hosts)
	}
	front, err = d.nets.Inspect(ctx(t), &quiltv1.InspectNetworkRequest{Name: front.Id[:12]})
	if err != nil || len(front.Containers) != 2 || front.Containers[0].Name != "a1" || front.Containers[1].Name != "a2" {
		t.Errorf("inspect front: %v %v", front, err)
	}
	out, _, _ = d.quiltctl(t, "network", "ls")
	for _, want := range []string{"bridge ", "front ", "back ", back.Subnet} {
		if !strings.Contains(out, want) {
			t.Errorf("network ls has no %q:\n%s", want, out)
		}
	}
	// In use: refused. Unused: removed with its bridge.
	_, err = d.nets.Remove(ctx(t), &quiltv1.RemoveNetworkRequest{Name: "front"})
	wantCode(t, err, codes.FailedPrecondition, "has containers attached (a1, a2)")
	_, err = d.nets.Remove(ctx(t), &quiltv1.RemoveNetworkRequest{Name: "bridge"})
	wantCode(t, err, codes.InvalidArgument, "cannot be removed")
	for _, c := range []*quiltv1.Container{a1, a2, a3, b1} {
		if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: c.Id, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	if out, stderr, code := d.quiltctl(t, "network", "rm", "front", "back"); code != 0 || out != "front\nback\n" {
		t.Fatalf("network rm: %d %q %q", code, out, stderr)
	}
	for _, n := range []*quiltv1.Network{front, back} {
		if _, err := os.Stat("/sys/class/net/" + n.Bridge); err == nil {
			t.Errorf("bridge %s of network %s is still there", n.Bridge, n.Name)
		}
		if rules := rulesWith(t, n.Bridge); len(rules) > 0 {
			t.Errorf("rules left for bridge %s: %q", n.Bridge, rules)
		}
		if rules := rulesOf(t, netip.MustParsePrefix(n.Subnet)); len(rules) > 0 {
			t.Errorf("rules left for subnet %s: %q", n.Subnet, rules)
		}
	}
}

// ipOf is a running container's address.
func (d *daemon) ipOf(t *testing.T, id string) string {
	t.Helper()
	c, err := d.ctrs.Inspect(ctx(t), &quiltv1.InspectRequest{Id: id})
	if err != nil || c.Network == nil {
		t.Fatalf("inspect %s: %v %v", id, c, err)
	}
	return c.Network.IpAddress
}

// checkNoNetwork fails if container id still has a network namespace, a
// record or a veth.
func (d *daemon) checkNoNetwork(t *testing.T, id string) {
	t.Helper()
	if _, err := os.Stat(d.state + "/netns/" + id); err == nil {
		t.Errorf("network namespace of %s left", id[:12])
	}
	if _, err := os.Stat(d.root + "/containers/" + id + "/network.json"); err == nil {
		t.Errorf("network record of %s left", id[:12])
	}
	if veths, _ := os.ReadDir("/sys/class/net/" + d.net.bridge + "/brif"); len(veths) > 0 {
		t.Errorf("veths on %s: %d", d.net.bridge, len(veths))
	}
}

// addrOf finds the address in `ip -4 -o addr show` output.
func addrOf(t *testing.T, out string) netip.Addr {
	t.Helper()
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet" && i+1 < len(f) {
			if p, err := netip.ParsePrefix(f[i+1]); err == nil {
				return p.Addr()
			}
		}
	}
	t.Fatalf("no address in %q", out)
	return netip.Addr{}
}

// hostNameservers is what a container's resolv.conf should list: the
// host's nameservers but loopback ones.
func hostNameservers(t *testing.T) string {
	data, _ := os.ReadFile("/etc/resolv.conf")
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil && !a.IsLoopback() {
				b.WriteString("nameserver " + f[1] + "\n")
			}
		}
	}
	if b.Len() == 0 {
		return "# No nameserver"
	}
	return b.String()
}

// freePort is a TCP and UDP port no program of the host listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp4", ":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", port)); err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// httpGet fetches http://host:port/. When want is set it retries for a
// while (the server may be starting); otherwise it tries once, briefly,
// and returns "" when nothing answers.
func httpGet(t *testing.T, host string, port int, want bool) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	url := fmt.Sprintf("http://%s/", net.JoinHostPort(host, strconv.Itoa(port)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body)
		}
		if !want || time.Now().After(deadline) {
			if want {
				t.Errorf("GET %s: %v", url, err)
			}
			return ""
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rulesWith lists the iptables rules (filter and nat) that contain s.
func rulesWith(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, table := range []string{"filter", "nat"} {
		rules, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			t.Fatalf("iptables: %v", err)
		}
		for _, r := range strings.Split(string(rules), "\n") {
			if strings.Contains(r, s) {
				out = append(out, r)
			}
		}
	}
	return out
}

// outside is a network namespace behind a veth from the host: another
// machine, as far as a container can tell.
type outside struct {
	netns      string
	addr, host netip.Addr
}

func newOutside(t *testing.T) outside {
	t.Helper()
	p := freeSubnet(t, 30)
	name := "qto" + runID[:8]
	o := outside{netns: "/run/netns/" + name, host: p.Addr().Next(), addr: p.Addr().Next().Next()}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	for _, args := range [][]string{
		{"netns", "add", name},
		{"link", "add", name + "h", "type", "veth", "peer", "name", "eth0", "netns", name},
		{"addr", "add", o.host.String() + "/30", "dev", name + "h"},
		{"link", "set", name + "h", "up"},
		{"-n", name, "addr", "add", o.addr.String() + "/30", "dev", "eth0"},
		{"-n", name, "link", "set", "eth0", "up"},
		{"-n", name, "route", "add", "default", "via", o.host.String()},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	return o
}

// listenIn listens in the network namespace at netns.
func listenIn(t *testing.T, netns, network, addr string) net.Listener {
	t.Helper()
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		fd, err := unix.Open(netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		l, err := net.Listen(network, addr)
		ch <- result{l, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listen in %s: %v", netns, r.err)
	}
	t.Cleanup(func() { r.l.Close() })
	return r.l
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
