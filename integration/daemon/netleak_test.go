package daemon_test

import (
	"crypto/sha512"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

var netCycles = flag.Int("net-cycles", 200, "create/remove cycles of TestNetworkTeardown")

// netCounts counts what the containers of a daemon's default network hold
// on the host: veths on its bridge, iptables rules for its subnet or with
// its name (the plugins comment theirs with the CNI network's name, the
// bridge's), the per-container chains of the containers ids (the masquerade
// and the published ports' chains, which may be empty), address
// reservations, pinned network namespaces and their mounts. Everything
// counted is this daemon's: other daemons on the host do not change it.
func (d *daemon) netCounts(t *testing.T, ids []string) map[string]int {
	t.Helper()
	c := map[string]int{"veth": 0, "rule": 0, "chain": 0, "address": 0, "netns": 0, "netns mount": 0}
	veths, _ := os.ReadDir("/sys/class/net/" + d.net.bridge + "/brif")
	c["veth"] = len(veths)
	chains := map[string]bool{}
	for _, id := range ids {
		sum := fmt.Sprintf("%x", sha512.Sum512([]byte(d.net.bridge+id)))
		chains[("CNI-" + sum)[:28]], chains[("CNI-DN-" + sum)[:28]] = true, true
	}
	prefix, name := subnetPrefix(d.net.subnet), `name: \"`+d.net.bridge+`\"`
	for _, table := range []string{"filter", "nat"} {
		out, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 2 && f[0] == "-N" && chains[f[1]]:
				c["chain"]++
			case strings.Contains(line, prefix) || strings.Contains(line, name):
				c["rule"]++
			}
		}
	}
	res, _ := os.ReadDir(filepath.Join(d.state, "ipam", d.net.bridge))
	for _, e := range res {
		if _, err := netip.ParseAddr(e.Name()); err == nil {
			c["address"]++
		}
	}
	ns, _ := os.ReadDir(filepath.Join(d.state, "netns"))
	c["netns"] = len(ns)
	for _, m := range mountsUnder(d.dir) {
		if strings.Contains(m, "/netns/") {
			c["netns mount"]++
		}
	}
	return c
}

func sameCounts(a, b map[string]int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestNetworkTeardown: create/remove cycles of bridged containers leave no
// veth, rule, chain, address reservation or network namespace: containers
// removed running, removed created, removed after they exited, with and
// without published ports, and creates that fail after the network was
// attached.
func TestNetworkTeardown(t *testing.T) {
	d := startDaemon(t)
	d.importImage(t, &quiltv1.ImportRequest{Path: imagePath})
	// One container first: the bridge and the plugins' shared chains
	// exist from then on, for the network's life.
	d.run(t, argv("true"))
	before := d.netCounts(t, nil)
	cycles := *netCycles
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id, err := d.netCycle(t, i)
				if err != nil {
					t.Errorf("cycle %d: %v", i, err)
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	for i := range cycles {
		work <- i
	}
	close(work)
	wg.Wait()
	after := d.netCounts(t, ids)
	t.Logf("%d create/remove cycles in %v; before %v, after %v", cycles, time.Since(start).Round(time.Millisecond), before, after)
	if !sameCounts(before, after) {
		t.Errorf("left behind: before %v, after %v", before, after)
	}
}

// netCycle makes and removes one container, in one of five ways, and
// returns its id ("" for the failed creates).
func (d *daemon) netCycle(t *testing.T, i int) (string, error) {
	cfg := &quiltv1.ContainerConfig{Image: imagePath, Name: fmt.Sprintf("cycle-%d", i), Args: []string{"sleep", "60"}}
	force := false
	switch i % 5 {
	case 0: // removed while running
		force = true
	case 1: // with a published port, removed while running
		cfg.Ports = []*quiltv1.PortMapping{{HostIp: "127.0.0.1", HostPort: uint32(20000 + i), ContainerPort: 80}}
		force = true
	case 2: // created, never started
	case 3: // exited before the removal
		cfg.Args = []string{"true"}
	case 4: // a create that fails after the network is attached
		cfg.Mounts = []*quiltv1.Mount{{Type: "tmpfs", Destination: "/x", Options: []string{"size=bogus"}}}
		_, err := d.ctrs.Create(ctx(t), &quiltv1.CreateRequest{Config: cfg})
		if err == nil {
			return "", fmt.Errorf("a tmpfs with size=bogus was created")
		}
		return "", nil
	}
	c, err := d.ctrs.Create(ctx(t), &quiltv1.CreateRequest{Config: cfg})
	if err != nil {
		return "", err
	}
	if i%5 != 2 {
		if _, err := d.ctrs.Start(ctx(t), &quiltv1.StartRequest{Id: c.Id}); err != nil {
			return c.Id, err
		}
	}
	if i%5 == 3 {
		if _, err := d.ctrs.Wait(ctx(t), &quiltv1.WaitRequest{Id: c.Id}); err != nil {
			return c.Id, err
		}
	}
	_, err = d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: c.Id, Force: force})
	return c.Id, err
}

// TestNetworkAfterSIGKILL: quiltd is killed while bridged containers run;
// the one that exits while it is down has its network released by the
// next quiltd, the running one keeps serving its published port and is
// released when removed, and a created one still starts on the network.
func TestNetworkAfterSIGKILL(t *testing.T) {
	d := startDaemon(t)
	d.run(t, argv("true"))
	before := d.netCounts(t, nil)
	port := freePort(t)
	cfg := sh(`mkdir -p /www && echo still here > /www/index.html && exec httpd -f -p 80 -h /www`)
	cfg.Ports = []*quiltv1.PortMapping{{HostPort: uint32(port), ContainerPort: 80}}
	web := d.runDetached(t, cfg)
	ends := d.runDetached(t, sh(`sleep 1`))
	created := d.create(t, sh(`ping -c 1 -W 2 `+d.net.subnet.Addr().Next().String()+` >/dev/null && echo reached the gateway`))
	if got := httpGet(t, "127.0.0.1", port, true); got != "still here\n" {
		t.Fatalf("before: %q", got)
	}
	// The counts see what the containers hold (so that zero means gone).
	during := d.netCounts(t, []string{web.Id, ends.Id, created.Id})
	for k, v := range during {
		if v <= before[k] {
			t.Errorf("%s: %d with three containers attached, %d before", k, v, before[k])
		}
	}
	d.stop(syscall.SIGKILL)
	time.Sleep(2 * time.Second) // "ends" exits meanwhile
	d.start()

	d.checkNoNetwork2(t, ends.Id)
	if got := httpGet(t, "127.0.0.1", port, true); got != "still here\n" {
		t.Errorf("after the restart: %q", got)
	}
	// The restarted daemon knows the port is taken.
	cfg = argv("true")
	cfg.Ports = []*quiltv1.PortMapping{{HostPort: uint32(port), ContainerPort: 80}}
	_, err := d.ctrs.Create(ctx(t), &quiltv1.CreateRequest{Config: withImage(cfg)})
	wantCode(t, err, codes.AlreadyExists, "is published by container")
	if _, err := d.ctrs.Start(ctx(t), &quiltv1.StartRequest{Id: created.Id}); err != nil {
		t.Fatal(err)
	}
	if w, err := d.ctrs.Wait(ctx(t), &quiltv1.WaitRequest{Id: created.Id}); err != nil || w.ExitCode != 0 {
		t.Errorf("the created container: %v %v %s", w, err, d.logs(t, &quiltv1.LogsRequest{Id: created.Id}))
	}
	for _, c := range []*quiltv1.Container{web, ends, created} {
		if _, err := d.ctrs.Remove(ctx(t), &quiltv1.RemoveRequest{Id: c.Id, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	if after := d.netCounts(t, []string{web.Id, ends.Id, created.Id}); !sameCounts(before, after) {
		t.Errorf("left behind: before %v, after %v", before, after)
	}
}

// checkNoNetwork2 is checkNoNetwork for one container among others: its
// namespace and record are gone.
func (d *daemon) checkNoNetwork2(t *testing.T, id string) {
	t.Helper()
	for _, p := range []string{filepath.Join(d.state, "netns", id), filepath.Join(d.root, "containers", id, "network.json")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("left behind: %s", p)
		}
	}
}
