//go:build linux

// Command network measures what bridge networking adds to a quiltd
// container: create and start time of containers on the default bridge
// network (with and without a published port) beside containers of
// network none, on a private quiltd, interleaved. See bench/README.md.
package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// mode is one column: a network setting of the containers.
type mode struct {
	name    string
	network string
	port    bool
}

var modes = []mode{{"none", "none", false}, {"bridge", "bridge", false}, {"bridge -p", "bridge", true}}

func main() {
	bin := flag.String("bin", "bin", "`directory` with quiltd and quilt-init (make build)")
	n := flag.Int("n", 30, "measured `containers` per column")
	busybox := flag.String("busybox", "/bin/busybox", "static busybox `binary` for the image")
	subnet := flag.String("subnet", "10.79.0.0/24", "the private bridge's `subnet`")
	flag.Parse()
	if err := run(*bin, *n, *busybox, *subnet); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin string, n int, busybox, subnet string) (retErr error) {
	if os.Geteuid() != 0 {
		return errors.New("needs root")
	}
	if n < 1 {
		return fmt.Errorf("-n %d: need at least 1", n)
	}
	dir, err := os.MkdirTemp("", "quilt-netbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bridge := fmt.Sprintf("qb%d", os.Getpid())
	d := &daemon{dir: dir, bridge: bridge, cgroup: fmt.Sprintf("quilt-netbench-%d", os.Getpid())}
	defer d.cleanup()
	if err := writeImage(filepath.Join(dir, "busybox.tar.gz"), busybox); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	cfg, _ := json.Marshal(map[string]any{"network": map[string]any{"bridge": bridge, "subnet": subnet}})
	if err := os.WriteFile(filepath.Join(dir, "quiltd.json"), cfg, 0o600); err != nil {
		return err
	}
	if err := d.start(bin); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := d.importImage(ctx, filepath.Join(dir, "busybox.tar.gz")); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	// Warm-up, untimed: the bridge, the plugins' chains, the page cache.
	for _, m := range modes {
		if _, err := d.cycle(ctx, m, 0); err != nil {
			return fmt.Errorf("warm-up %s: %w", m.name, err)
		}
	}
	samples := map[string]map[string][]time.Duration{}
	for _, m := range modes {
		samples[m.name] = map[string][]time.Duration{}
	}
	fmt.Fprintf(os.Stderr, "%d containers per column ", n)
	for i := range n {
		// The column that goes first turns, so that drift hits all.
		for j := range modes {
			m := modes[(i+j)%len(modes)]
			t, err := d.cycle(ctx, m, i+1)
			if err != nil {
				return fmt.Errorf("%s #%d: %w", m.name, i, err)
			}
			for k, v := range t {
				samples[m.name][k] = append(samples[m.name][k], v)
			}
		}
		fmt.Fprint(os.Stderr, ".")
	}
	fmt.Fprintln(os.Stderr)
	report(os.Stdout, samples, n)
	return nil
}

// cycle creates, starts and removes one container, timing each step.
func (d *daemon) cycle(ctx context.Context, m mode, i int) (map[string]time.Duration, error) {
	cfg := &quiltv1.ContainerConfig{Image: "busybox", Args: []string{"sleep", "3600"}, Network: m.network}
	if m.port {
		cfg.Ports = []*quiltv1.PortMapping{{HostIp: "127.0.0.1", HostPort: uint32(30000 + i), ContainerPort: 80}}
	}
	t := map[string]time.Duration{}
	start := time.Now()
	c, err := d.ctrs.Create(ctx, &quiltv1.CreateRequest{Config: cfg})
	if err != nil {
		return nil, err
	}
	t["create"] = time.Since(start)
	s := time.Now()
	if _, err := d.ctrs.Start(ctx, &quiltv1.StartRequest{Id: c.Id}); err != nil {
		return nil, err
	}
	t["start"] = time.Since(s)
	t["create+start"] = time.Since(start)
	s = time.Now()
	if _, err := d.ctrs.Remove(ctx, &quiltv1.RemoveRequest{Id: c.Id, Force: true}); err != nil {
		return nil, err
	}
	t["rm -f"] = time.Since(s)
	return t, nil
}

func report(w io.Writer, samples map[string]map[string][]time.Duration, n int) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	head := "step\t"
	for _, m := range modes {
		head += m.name + " med\t" + m.name + " p90\t"
	}
	fmt.Fprintln(tw, head+"bridge-none med\t")
	for _, step := range []string{"create", "start", "create+start", "rm -f"} {
		line := step + "\t"
		for _, m := range modes {
			v := samples[m.name][step]
			line += ms(quantile(v, 0.5)) + "\t" + ms(quantile(v, 0.9)) + "\t"
		}
		added := quantile(samples["bridge"][step], 0.5) - quantile(samples["none"][step], 0.5)
		fmt.Fprintln(tw, line+fmt.Sprintf("%+.1fms", float64(added)/float64(time.Millisecond))+"\t")
	}
	tw.Flush()
	fmt.Fprintf(w, "n=%d per column; medians and 90th percentiles; create includes CNI ADD, rm -f the kill and CNI DEL\n", n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// quantile with linear interpolation between ranks.
func quantile(v []time.Duration, q float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(pos)
	if lo+1 >= len(s) {
		return s[lo]
	}
	return s[lo] + time.Duration((pos-float64(lo))*float64(s[lo+1]-s[lo]))
}

// daemon is the private quiltd of the run.
type daemon struct {
	dir, bridge, cgroup string
	cmd                 *exec.Cmd
	conn                *grpc.ClientConn
	images              quiltv1grpc.ImagesClient
	ctrs                quiltv1grpc.ContainersClient
}

func (d *daemon) start(bin string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	sock := filepath.Join(d.dir, "quiltd.sock")
	log, err := os.Create(filepath.Join(d.dir, "quiltd.log"))
	if err != nil {
		return err
	}
	d.cmd = exec.Command(filepath.Join(bin, "quiltd"), "--config", filepath.Join(d.dir, "quiltd.json"),
		"--address", sock, "--root", filepath.Join(d.dir, "root"), "--state", filepath.Join(d.dir, "state"),
		"--cgroup-parent", d.cgroup, "--init", filepath.Join(bin, "quilt-init"), "--quilt-sh", filepath.Join(bin, "quilt-sh"))
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("quiltd: %w", err)
	}
	if d.conn, err = grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return err
	}
	d.images, d.ctrs = quiltv1grpc.NewImagesClient(d.conn), quiltv1grpc.NewContainersClient(d.conn)
	sys := quiltv1grpc.NewSystemClient(d.conn)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := sys.Health(ctx, &quiltv1.HealthRequest{})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("quiltd does not answer (log in %s): %w", log.Name(), err)
		}
	}
}

// importImage imports the image as "busybox" and waits for the end.
func (d *daemon) importImage(ctx context.Context, path string) error {
	stream, err := d.images.Import(ctx, &quiltv1.ImportRequest{Path: path, Name: "busybox"})
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// cleanup removes every container, stops quiltd, and removes the bridge,
// its isolation rules and the cgroup parent.
func (d *daemon) cleanup() {
	if d.ctrs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if list, err := d.ctrs.List(ctx, &quiltv1.ListRequest{All: true}); err == nil {
			for _, c := range list.Containers {
				d.ctrs.Remove(ctx, &quiltv1.RemoveRequest{Id: c.Id, Force: true})
			}
		}
		cancel()
		d.conn.Close()
	}
	if d.cmd != nil && d.cmd.Process != nil {
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
	}
	exec.Command("ip", "link", "del", d.bridge).Run()
	comment := []string{"-m", "comment", "--comment", "CNI firewall plugin rules (ingressPolicy: same-bridge)"}
	exec.Command("iptables", append([]string{"-w", "-D", "CNI-ISOLATION-STAGE-1", "-i", d.bridge, "!", "-o", d.bridge, "-j", "CNI-ISOLATION-STAGE-2"}, comment...)...).Run()
	exec.Command("iptables", append([]string{"-w", "-D", "CNI-ISOLATION-STAGE-2", "-o", d.bridge, "-j", "DROP"}, comment...)...).Run()
	for _, cg := range append([]string{"/sys/fs/cgroup/" + d.cgroup}, globCgroups(d.cgroup)...) {
		os.Remove(cg)
	}
}

func globCgroups(name string) []string {
	m, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	return m
}

// writeImage writes a rootfs tarball of busybox and its applets.
func writeImage(path, busybox string) error {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	body, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, d := range []string{"bin/", "dev/", "etc/", "proc/", "sys/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(body))}); err != nil {
		return err
	}
	if _, err := tw.Write(body); err != nil {
		return err
	}
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
