package daemon_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/integration/internal/testbuild"
)

// netToolSource is a small program that containers download and install
// (the "real software installation" scenario) or get bind-mounted: it
// fetches URLs and reads UDP datagrams, things busybox cannot do.
const netToolSource = `package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: nettool version | fetch URL | udp PORT")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "version":
		fmt.Println("nettool 1.0")
	case "fetch":
		resp, err := http.Get(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("nettool fetched %d bytes (%s): %s", len(body), resp.Status, body)
	case "udp":
		pc, err := net.ListenPacket("udp4", ":"+os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening")
		buf := make([]byte, 1500)
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("datagram %q from %s\n", buf[:n], from)
	}
}
`

// netTool builds netToolSource, statically, once per run.
var netTool = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(binDir, "nettool-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(netToolSource), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(binDir, "nettool")
	err := testbuild.Build(dir, testbuild.GoCommand(), []string{"CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off"}, "-ldflags", "-s -w", "-o", out, "main.go")
	return out, err
})

// tarGz is a .tar.gz holding one executable file.
func tarGz(t *testing.T, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(body)), ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestInstallSoftware is the seed's "real software installation", offline:
// the host serves, on its address on the daemon's bridge, a tarball of a
// static program and a page; four containers at once download the tarball
// with busybox wget, install the program under /usr/local/bin, run it, and
// fetch the page with it and with wget.
func TestInstallSoftware(t *testing.T) {
	d := startDaemon(t)
	tool, err := netTool()
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(tool)
	if err != nil {
		t.Fatal(err)
	}
	tarball := tarGz(t, "nettool", body)
	const page = "<h1>Quilt offline page</h1>\n"
	gw := d.net.subnet.Addr().Next()
	port := freePort(t)
	base := fmt.Sprintf("http://%s:%d", gw, port)
	script := `set -e
cd /tmp
wget -q ` + base + `/nettool.tar.gz
mkdir -p /usr/local/bin
tar -xzf nettool.tar.gz -C /usr/local/bin
nettool version
nettool fetch ` + base + `/page.html
wget -q -O- ` + base + `/page.html`
	const n = 4
	var ids []string
	for i := range n {
		cfg := sh(script)
		cfg.Name = fmt.Sprintf("install-%d", i)
		ids = append(ids, d.create(t, cfg).Id)
	}
	// The bridge and its address exist now: serve there.
	var mu sync.Mutex
	clients := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("/nettool.tar.gz", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		clients[host]++
		mu.Unlock()
		w.Write(tarball)
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, page) })
	l, err := net.Listen("tcp4", fmt.Sprintf("%s:%d", gw, port))
	if err != nil {
		t.Fatalf("listen on the bridge's address: %v", err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()

	start := time.Now()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.ctrs.Start(ctx(t), &quiltv1.StartRequest{Id: id}); err != nil {
				t.Errorf("start: %v", err)
			}
		}()
	}
	wg.Wait()
	want := "nettool 1.0\nnettool fetched " + fmt.Sprint(len(page)) + " bytes (200 OK): " + page + page
	for i, id := range ids {
		w, err := d.ctrs.Wait(ctx(t), &quiltv1.WaitRequest{Id: id})
		out := d.logs(t, &quiltv1.LogsRequest{Id: id})
		if err != nil || w.ExitCode != 0 || out != want {
			t.Errorf("container %d: exit %v %v, output:\n%s\nwant:\n%s", i, w, err, out, want)
		}
	}
	t.Logf("%d containers downloaded, installed and ran nettool (%d KiB) in %v", n, len(tarball)>>10, time.Since(start).Round(time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	if len(clients) != n {
		t.Errorf("downloads came from %v, want %d containers' addresses", clients, n)
	}
	for ip := range clients {
		if !d.net.subnet.Contains(mustAddr(t, ip)) {
			t.Errorf("a download from %s, outside %s", ip, d.net.subnet)
		}
	}
	if strings.Contains(fmt.Sprint(clients), gw.String()) {
		t.Errorf("a download from the gateway: %v", clients)
	}
}
