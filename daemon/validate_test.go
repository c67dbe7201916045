package daemon

import (
	"errors"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestValidateConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *quiltv1.ContainerConfig
		want string // substring of the error; "" for valid
	}{
		{"empty", &quiltv1.ContainerConfig{}, ""},
		{"good", &quiltv1.ContainerConfig{Name: "web-1.a_b", Env: []string{"A=1", "B="}, Workdir: "/srv", Hostname: "web.local", Network: "host"}, ""},
		{"bad name", &quiltv1.ContainerConfig{Name: "-x"}, `invalid container name "-x"`},
		{"name slash", &quiltv1.ContainerConfig{Name: "a/b"}, "invalid container name"},
		{"shell and args", &quiltv1.ContainerConfig{Shell: "true", Args: []string{"x"}}, "not both"},
		{"blank shell", &quiltv1.ContainerConfig{Shell: "  "}, "shell command line is empty"},
		{"env no =", &quiltv1.ContainerConfig{Env: []string{"NOPE"}}, `invalid environment variable "NOPE"`},
		{"env empty key", &quiltv1.ContainerConfig{Env: []string{"=x"}}, "invalid environment variable"},
		{"relative workdir", &quiltv1.ContainerConfig{Workdir: "srv"}, `working directory "srv"`},
		{"hostname", &quiltv1.ContainerConfig{Hostname: "a_b"}, `invalid hostname "a_b"`},
		{"bridge", &quiltv1.ContainerConfig{Network: "bridge"}, ""},
		{"user network", &quiltv1.ContainerConfig{Network: "back-end_1.x"}, ""},
		{"network name", &quiltv1.ContainerConfig{Network: "-weird"}, `network name "-weird"`},
		{"network slash", &quiltv1.ContainerConfig{Network: "a/b"}, `network name "a/b"`},
		{"ports", &quiltv1.ContainerConfig{Ports: []*quiltv1.PortMapping{{HostPort: 8080, ContainerPort: 80}, {HostIp: "127.0.0.1", HostPort: 53, ContainerPort: 53, Protocol: "udp"}, {HostPort: 53, ContainerPort: 53}}}, ""},
		{"port zero", &quiltv1.ContainerConfig{Ports: []*quiltv1.PortMapping{{HostPort: 0, ContainerPort: 80}}}, "ports are 1-65535"},
		{"port too big", &quiltv1.ContainerConfig{Ports: []*quiltv1.PortMapping{{HostPort: 70000, ContainerPort: 80}}}, "ports are 1-65535"},
		{"port protocol", &quiltv1.ContainerConfig{Ports: []*quiltv1.PortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "sctp"}}}, `protocol "sctp"`},
		{"port host ip", &quiltv1.ContainerConfig{Ports: []*quiltv1.PortMapping{{HostIp: "::1", HostPort: 1, ContainerPort: 1}}}, `host IP "::1"`},
		{"port twice", &quiltv1.ContainerConfig{Ports: []*quiltv1.PortMapping{{HostPort: 80, ContainerPort: 80}, {HostIp: "127.0.0.1", HostPort: 80, ContainerPort: 81}}}, "published twice"},
		{"negative memory", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{Memory: -1}}, "memory limit -1 must not be negative"},
		{"tiny memory", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{Memory: 1 << 20}}, "below the minimum of 6 MiB"},
		{"swap alone", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{MemorySwap: 64 << 20}}, "needs a memory limit"},
		{"swap below", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{Memory: 64 << 20, MemorySwap: 32 << 20}}, "must not be below"},
		{"swap unlimited", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{Memory: 64 << 20, MemorySwap: -1}}, ""},
		{"negative pids", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{PidsLimit: -3}}, "pids limit -3"},
		{"cpu quota", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{CpuQuota: 10}}, "below the minimum of 1000"},
		{"cpu shares", &quiltv1.ContainerConfig{Resources: &quiltv1.Resources{CpuShares: 1}}, "CPU shares 1"},
		{"mount relative", &quiltv1.ContainerConfig{Mounts: []*quiltv1.Mount{{Type: "bind", Source: "/tmp", Destination: "x"}}}, `mount destination "x"`},
		{"mount root", &quiltv1.ContainerConfig{Mounts: []*quiltv1.Mount{{Type: "tmpfs", Destination: "/"}}}, "other than /"},
		{"mount type", &quiltv1.ContainerConfig{Mounts: []*quiltv1.Mount{{Type: "nfs", Destination: "/x"}}}, `unknown type "nfs"`},
		{"bind relative source", &quiltv1.ContainerConfig{Mounts: []*quiltv1.Mount{{Type: "bind", Source: "tmp", Destination: "/x"}}}, `source "tmp"`},
		{"tmpfs option comma", &quiltv1.ContainerConfig{Mounts: []*quiltv1.Mount{{Type: "tmpfs", Destination: "/x", Options: []string{"size=1m,exec"}}}}, "invalid option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateConfig(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("no error, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			case tc.want != "" && !errors.Is(err, ErrInvalid):
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	ep, cmd := []string{"/entry"}, []string{"default"}
	for _, tc := range []struct {
		name       string
		ep, cmd    []string
		cfg        *quiltv1.ContainerConfig
		want       []string
		wantErrSub string
	}{
		{"image", ep, cmd, &quiltv1.ContainerConfig{}, []string{"/entry", "default"}, ""},
		{"args replace cmd", ep, cmd, &quiltv1.ContainerConfig{Args: []string{"a", "b"}}, []string{"/entry", "a", "b"}, ""},
		{"entrypoint drops cmd", ep, cmd, &quiltv1.ContainerConfig{Entrypoint: []string{"/e2"}}, []string{"/e2"}, ""},
		{"clear entrypoint", ep, cmd, &quiltv1.ContainerConfig{ClearEntrypoint: true, Args: []string{"ls"}}, []string{"ls"}, ""},
		{"shell", ep, cmd, &quiltv1.ContainerConfig{Shell: "echo a; ls | wc -l"}, []string{"/bin/sh", "-c", "echo a; ls | wc -l"}, ""},
		{"nothing", nil, nil, &quiltv1.ContainerConfig{}, nil, "no command"},
		{"clear everything", ep, cmd, &quiltv1.ContainerConfig{ClearEntrypoint: true}, nil, "no command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := command(tc.ep, tc.cmd, tc.cfg)
			if tc.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %v, %v; want an ErrInvalid with %q", got, err, tc.wantErrSub)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []string{"A=2", "B=3", "PATH=/x"})
	want := []string{"PATH=/x", "A=2", "B=3"}
	if !slices.Equal(got, want) {
		t.Fatalf("mergeEnv = %q, want %q", got, want)
	}
}

func TestToStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{errorf(ErrNotFound, "no such container: x"), codes.NotFound},
		{errorf(ErrExists, "name in use"), codes.AlreadyExists},
		{errorf(ErrInvalid, "bad"), codes.InvalidArgument},
		{errorf(ErrState, "running"), codes.FailedPrecondition},
		{errorf(ErrResource, "full"), codes.ResourceExhausted},
		{errors.New("boom"), codes.Internal},
	} {
		st := status.Convert(toStatus(tc.err))
		if st.Code() != tc.code || st.Message() != tc.err.Error() {
			t.Errorf("toStatus(%v) = %v %q, want %v and the same message", tc.err, st.Code(), st.Message(), tc.code)
		}
	}
	if toStatus(nil) != nil {
		t.Error("toStatus(nil) != nil")
	}
}

func TestUserArg(t *testing.T) {
	if got := userArg(specsUser(1000, 100, 10, 20)); got != "1000:100:10,20" {
		t.Errorf("userArg = %q", got)
	}
	if got := userArg(specsUser(0, 0)); got != "0:0" {
		t.Errorf("userArg = %q", got)
	}
}

func TestBrokerDropsSlowSubscriber(t *testing.T) {
	b := newBroker()
	fast, cancelFast := b.subscribe()
	defer cancelFast()
	slow, cancelSlow := b.subscribe()
	defer cancelSlow()
	for i := 0; i < 300; i++ {
		b.publish(&quiltv1.Event{Type: "x"})
		<-fast
	}
	n := 0
	for range slow {
		n++
	}
	if n != 256 {
		t.Fatalf("slow subscriber got %d events before being dropped, want 256", n)
	}
}

func specsUser(uid, gid uint32, groups ...uint32) specs.User {
	return specs.User{UID: uid, GID: gid, AdditionalGids: groups}
}
