package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestRunExitCode(t *testing.T) {
	for _, tc := range []struct {
		name             string
		args             []string
		stdout, stderr   string
		code             int
		wantRequestImage string
	}{
		{"success", []string{"busybox", "out=hello"}, "hello\n", "", 0, "busybox"},
		{"status passes through", []string{"busybox", "--", "out=a", "err=b", "exit=3"}, "a\n", "b\n", 3, "busybox"},
		{"not found in the container", []string{"busybox", "exit=127"}, "", "", 127, "busybox"},
		{"killed by a signal", []string{"busybox", "exit=143"}, "", "", 143, "busybox"},
		{"a status a shell cannot see", []string{"busybox", "exit=256"}, "", "", 255, "busybox"},
		{"image by id prefix", []string{shortID("sha256:" + digest("busybox")), "exit=1"}, "", "", 1, shortID("sha256:" + digest("busybox"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, sock := startFake(t)
			f.addImage("busybox")
			stdout, stderr, code := quiltctl(t, sock, nil, append([]string{"run"}, tc.args...)...)
			if stdout != tc.stdout || stderr != tc.stderr || code != tc.code {
				t.Errorf("run %q = (%q, %q, %d), want (%q, %q, %d)", tc.args, stdout, stderr, code, tc.stdout, tc.stderr, tc.code)
			}
			reqs := recorded[*quiltv1.CreateRequest](f)
			if len(reqs) != 1 || reqs[0].GetConfig().GetImage() != tc.wantRequestImage {
				t.Errorf("Run requests %v, want one for image %s", reqs, tc.wantRequestImage)
			}
		})
	}
}

// The output comes as the container writes it, before it exits: a
// container that waits for a signal has its first line shown already.
func TestRunStreamsOutputAndForwardsSignal(t *testing.T) {
	f, sock := startFake(t)
	f.addImage("busybox")
	stdout, stderr, code := quiltctl(t, sock, nil, "run", "--name", "web", "busybox", "out=ready", "raise=SIGINT", "wait-kill", "out=never")
	if code != 130 {
		t.Errorf("status %d, want 130 (SIGINT forwarded, container ended by it); stderr %q", code, stderr)
	}
	if stdout != "ready\n" {
		t.Errorf("stdout %q, want the line written before the signal", stdout)
	}
	kills := recorded[*quiltv1.KillRequest](f)
	if len(kills) != 1 || kills[0].Signal != "SIGINT" || kills[0].Id != digest("web") {
		t.Errorf("Kill requests %v, want one SIGINT to web", kills)
	}
}

// A signal that comes before the container exists is forwarded once it
// does.
func TestRunSignalBeforeCreated(t *testing.T) {
	f, sock := startFake(t)
	f.addImage("busybox")
	_, stderr, code := quiltctl(t, sock, nil, "run", "busybox", "early-raise=SIGTERM", "wait-kill")
	if code != 143 || stderr != "" {
		t.Errorf("run = (%q, %d), want 143 from the container", stderr, code)
	}
	if kills := recorded[*quiltv1.KillRequest](f); len(kills) != 1 || kills[0].Signal != "SIGTERM" {
		t.Errorf("Kill requests %v, want SIGTERM", kills)
	}
}

// A second signal leaves the container running and returns.
func TestRunSecondSignalDetaches(t *testing.T) {
	f, sock := startFake(t)
	f.addImage("busybox")
	stdout, stderr, code := quiltctl(t, sock, nil, "run", "--name", "stubborn", "busybox", "out=ready", "raise=SIGINT", "ignore-kill", "raise=SIGTERM", "hang")
	if code != 143 || stdout != "ready\n" {
		t.Errorf("run = (%q, %d), want the output and 143", stdout, code)
	}
	if want := "quiltctl: container stubborn keeps running (quiltctl stop stubborn stops it)\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if kills := recorded[*quiltv1.KillRequest](f); len(kills) != 1 || kills[0].Signal != "SIGINT" {
		t.Errorf("Kill requests %v, want only the first signal forwarded", kills)
	}
}

func TestRunOOM(t *testing.T) {
	f, sock := startFake(t)
	f.addImage("busybox")
	_, stderr, code := quiltctl(t, sock, nil, "run", "--name", "hog", "-m", "64", "busybox", "oom")
	if code != 137 {
		t.Errorf("status %d, want 137", code)
	}
	if want := "quiltctl: container hog was killed: out of memory (limit 64MiB)\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if got := recorded[*quiltv1.CreateRequest](f)[0].GetConfig().GetResources().GetMemory(); got != 64<<20 {
		t.Errorf("memory %d, want %d", got, 64<<20)
	}
}

// --image-path: the image is asked for by its path; when quiltd does not
// know it, the same request goes again with image_path, and the next run
// finds the image imported under its path.
func TestImagePath(t *testing.T) {
	for _, command := range [][]string{{"run"}, {"run", "-d"}, {"create"}} {
		t.Run(strings.Join(command, " "), func(t *testing.T) {
			f, sock := startFake(t)
			dir := t.TempDir()
			image := filepath.Join(dir, "busybox.tar")
			if err := os.WriteFile(image, []byte("not really a tarball"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			args := append(command, "--image-path", "busybox.tar", "--", "exit=0")
			for i := range 2 {
				if _, stderr, code := quiltctl(t, sock, nil, args...); code != 0 {
					t.Fatalf("run %d: status %d, stderr %q", i+1, code, stderr)
				}
			}
			var got []string
			for _, r := range recorded[*quiltv1.CreateRequest](f) {
				got = append(got, r.GetConfig().GetImage()+"|"+r.GetImagePath())
			}
			want := []string{image + "|", "|" + image, image + "|"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("image|image_path of the requests: %q, want %q", got, want)
			}
		})
	}
}

func TestImagePathMissingFile(t *testing.T) {
	_, sock := startFake(t)
	missing := filepath.Join(t.TempDir(), "nope.tar")
	_, stderr, code := quiltctl(t, sock, nil, "run", "--image-path", missing, "true")
	if code != 125 || stderr != "quiltctl: image_path "+missing+": no such file\n" {
		t.Errorf("= (%q, %d), want quiltd's message and 125", stderr, code)
	}
}

// The flags of run and create become the request that quiltd gets.
func TestCreateRequest(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("FROM_CLIENT", "yes")
	for _, tc := range []struct {
		name string
		args []string
		want *quiltv1.ContainerConfig
	}{
		{
			name: "argv stays argv",
			args: []string{"busybox", "echo a; echo b"},
			want: &quiltv1.ContainerConfig{Image: "busybox", Args: []string{"echo a; echo b"}},
		},
		{
			name: "flags after the image belong to the command",
			args: []string{"busybox", "ls", "-l", "--name", "x"},
			want: &quiltv1.ContainerConfig{Image: "busybox", Args: []string{"ls", "-l", "--name", "x"}},
		},
		{
			name: "shell command line",
			args: []string{"--sh", "echo a; echo b | wc -l", "busybox"},
			want: &quiltv1.ContainerConfig{Image: "busybox", Shell: "echo a; echo b | wc -l"},
		},
		{
			name: "network and ports",
			args: []string{"--net", "back", "-p", "8080:80", "--publish", "127.0.0.1:5353:53/udp", "busybox"},
			want: &quiltv1.ContainerConfig{Image: "busybox", Network: "back", Ports: []*quiltv1.PortMapping{
				{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
				{HostIp: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
			}},
		},
		{
			name: "everything",
			args: []string{
				"--name", "web", "-e", "A=1,2", "--env", "FROM_CLIENT", "-e", "UNSET_IN_CLIENT",
				"-w", "/srv", "-u", "1000:1000", "--hostname", "h", "-l", "app=web", "--label", "tier",
				"--memory", "1.5g", "--memory-swap", "-1", "--cpus", "1.5", "--cpu-shares", "512",
				"--pids-limit", "100", "--read-only", "-v", "data:/data:ro", "--tmpfs", "/run:size=64m,ro",
				"--mount", "type=bind,src=/etc/hosts,target=/etc/hosts,readonly", "--network", "host",
				"--rm", "--entrypoint", "", "busybox", "--", "httpd", "-f",
			},
			want: &quiltv1.ContainerConfig{
				Name: "web", Image: "busybox", Args: []string{"httpd", "-f"}, ClearEntrypoint: true,
				Env: []string{"A=1,2", "FROM_CLIENT=yes"}, Workdir: "/srv", User: "1000:1000", Hostname: "h",
				Labels: map[string]string{"app": "web", "tier": ""},
				Resources: &quiltv1.Resources{
					Memory: 3 << 29, MemorySwap: -1, CpuQuota: 150000, CpuPeriod: 100000, CpuShares: 512, PidsLimit: 100,
				},
				ReadOnly: true,
				Mounts: []*quiltv1.Mount{
					{Type: "bind", Source: filepath.Join(dir, "data"), Destination: "/data", ReadOnly: true},
					{Type: "tmpfs", Destination: "/run", ReadOnly: true, Options: []string{"size=64m"}},
					{Type: "bind", Source: "/etc/hosts", Destination: "/etc/hosts", ReadOnly: true},
				},
				Network: "host", AutoRemove: true,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, sock := startFake(t)
			f.addImage("busybox")
			out, stderr, code := quiltctl(t, sock, nil, append([]string{"create"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("create: status %d, stderr %q", code, stderr)
			}
			reqs := recorded[*quiltv1.CreateRequest](f)
			if len(reqs) != 1 {
				t.Fatalf("%d create requests, want 1", len(reqs))
			}
			if !proto.Equal(reqs[0].GetConfig(), tc.want) {
				t.Errorf("config:\n%s\nwant:\n%s", prototext.Format(reqs[0].GetConfig()), prototext.Format(tc.want))
			}
			if id := strings.TrimSpace(out); len(id) != 64 {
				t.Errorf("create printed %q, want the container id", out)
			}
		})
	}
}

// Mistakes in run's and create's flags name the flag and end with 125,
// before quiltd is asked anything.
func TestRunFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", "0", "busybox"}, `--memory-limit "0": must be more than zero`},
		{[]string{"--memory", "-5", "busybox"}, `--memory-limit "-5": must be more than zero`},
		{[]string{"-m", "lots", "busybox"}, `--memory-limit "lots": not a size`},
		{[]string{"--memory-swap", "1x", "busybox"}, `--memory-swap "1x": not a size`},
		{[]string{"--cpus", "0", "busybox"}, `--cpus "0": must be more than zero`},
		{[]string{"--cpu-shares", "1", "busybox"}, `--cpu-shares 1: out of range`},
		{[]string{"--network", "a/b", "busybox"}, `--network "a/b": want none, host, bridge or a network's name`},
		{[]string{"-p", "80", "busybox"}, `--publish "80": want [HOST_IP:]HOST_PORT:CONTAINER_PORT`},
		{[]string{"--publish", "1.2.3.4:x:80", "busybox"}, `--publish "1.2.3.4:x:80": host port "x" is not a port`},
		{[]string{"-v", "/a", "busybox"}, `--volume "/a": invalid mount`},
		{[]string{"--sh", "echo a", "busybox", "echo"}, `--sh and the command ["echo"]: give one of them`},
		{[]string{}, `missing image`},
		{[]string{"--bogus", "busybox"}, `run: flag provided but not defined: -bogus`},
	} {
		_, sock := startFake(t)
		_, stderr, code := quiltctl(t, sock, nil, append([]string{"run"}, tc.args...)...)
		if code != 125 || !strings.HasPrefix(stderr, "quiltctl: "+tc.want) {
			t.Errorf("run %q = (%q, %d), want %q and 125", tc.args, stderr, code, tc.want)
		}
	}
}

func TestRunDetached(t *testing.T) {
	f, sock := startFake(t)
	f.addImage("busybox")
	out, stderr, code := quiltctl(t, sock, nil, "run", "-d", "--name", "web", "busybox", "httpd")
	if code != 0 || out != digest("web")+"\n" {
		t.Fatalf("run -d = (%q, %q, %d), want the id", out, stderr, code)
	}
	if starts := recorded[*quiltv1.StartRequest](f); len(starts) != 1 || starts[0].Id != digest("web") {
		t.Errorf("Start requests %v", starts)
	}
	// A second container of that name is refused by quiltd: 125.
	_, stderr, code = quiltctl(t, sock, nil, "run", "-d", "--name", "web", "busybox", "httpd")
	if want := "quiltctl: the name web is in use by container " + shortID(digest("web")) + "\n"; code != 125 || stderr != want {
		t.Errorf("second run -d = (%q, %d), want (%q, 125)", stderr, code, want)
	}
}
