package main

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestNetworkCommands(t *testing.T) {
	f, sock := startFake(t)
	out, stderr, code := quiltctl(t, sock, nil, "network", "create", "--subnet", "10.9.8.0/24", "--bridge", "br-back", "-l", "team=a,b", "back")
	if code != 0 || out != digest("back")+"\n" {
		t.Fatalf("create = (%q, %q, %d)", out, stderr, code)
	}
	want := &quiltv1.CreateNetworkRequest{Name: "back", Subnet: "10.9.8.0/24", Bridge: "br-back", Labels: map[string]string{"team": "a,b"}}
	if reqs := recorded[*quiltv1.CreateNetworkRequest](f); len(reqs) != 1 || !proto.Equal(reqs[0], want) {
		t.Errorf("requests %v, want %v", reqs, want)
	}
	if _, stderr, code := quiltctl(t, sock, nil, "network", "create", "front"); code != 0 {
		t.Fatalf("create front: %q", stderr)
	}
	out, _, code = quiltctl(t, sock, nil, "network", "ls")
	wantTable := `NETWORK ID     NAME     BRIDGE          SUBNET         GATEWAY     CONTAINERS
` + shortID(digest("bridge")) + `   bridge   quilt0          10.77.0.0/16   10.77.0.1   1
` + shortID(digest("back")) + `   back     br-back         10.9.8.0/24    10.9.8.1    0
` + shortID(digest("front")) + `   front    qn-` + digest("front")[:10] + `   10.78.0.0/24   10.78.0.1   0
`
	if code != 0 || out != wantTable {
		t.Errorf("ls:\n%s\nwant:\n%s", out, wantTable)
	}
	if out, _, _ := quiltctl(t, sock, nil, "network", "ls", "-q"); out != "bridge\nback\nfront\n" {
		t.Errorf("ls -q: %q", out)
	}
	out, stderr, code = quiltctl(t, sock, nil, "network", "inspect", "back", "nope")
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 || len(got) != 1 || got[0]["subnet"] != "10.9.8.0/24" ||
		stderr != "quiltctl: no such network: nope\n" {
		t.Errorf("inspect = (%q, %q, %d) %v", out, stderr, code, err)
	}
	out, stderr, code = quiltctl(t, sock, nil, "network", "rm", "back", "bridge")
	if code != 1 || out != "back\n" || !strings.Contains(stderr, "cannot be removed") {
		t.Errorf("rm = (%q, %q, %d)", out, stderr, code)
	}
	if out, _, _ := quiltctl(t, sock, nil, "network", "ls", "-q"); out != "bridge\nfront\n" {
		t.Errorf("ls -q after rm: %q", out)
	}
}

func TestNetworkCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "create"}, "network create: missing argument"},
		{[]string{"network", "create", "a", "b"}, "network create: missing argument"},
		{[]string{"network", "create", "a/b"}, `network create: name "a/b": want none, host, bridge or a network's name`},
		{[]string{"network", "rm"}, "rm: missing argument"},
		{[]string{"network", "ls", "x"}, `ls: unexpected arguments ["x"]`},
		{[]string{"network", "frob"}, `unknown command "frob"`},
	} {
		_, sock := startFake(t)
		_, stderr, code := quiltctl(t, sock, nil, tc.args...)
		if code != 1 || !strings.HasPrefix(stderr, "quiltctl: "+tc.want) {
			t.Errorf("%q = (%q, %d), want %q", tc.args, stderr, code, tc.want)
		}
	}
}
