package quilt_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the architecture: only libquilt imports
// libcontainer, nothing imports cmd/, and spec/ stays free of libquilt.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "seccomp man", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/quilt-runtime/quilt/"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			switch {
			case strings.HasPrefix(imp, "github.com/opencontainers/runc/") && !strings.HasPrefix(pkg, mod+"libquilt"):
				t.Errorf("%s imports %s: only libquilt may import libcontainer", pkg, imp)
			case strings.HasPrefix(imp, mod+"cmd/"):
				t.Errorf("%s imports %s: nothing imports cmd/", pkg, imp)
			case strings.HasPrefix(pkg, mod+"spec") && strings.HasPrefix(imp, mod+"libquilt"):
				t.Errorf("%s imports %s: spec/ must not depend on libquilt", pkg, imp)
			case (strings.HasPrefix(pkg, mod+"libquilt") || strings.HasPrefix(pkg, mod+"spec")) && strings.HasPrefix(imp, mod+"daemon"):
				t.Errorf("%s imports %s: the daemon builds on libquilt, not the other way", pkg, imp)
			case pkg == mod+"daemon/initproto" && strings.HasPrefix(imp, mod):
				t.Errorf("%s imports %s: initproto is linked into quilt-init and stays free of Quilt's packages", pkg, imp)
			case pkg == mod+"cmd/quiltctl" && (strings.HasPrefix(imp, mod+"daemon") || strings.HasPrefix(imp, mod+"libquilt")):
				t.Errorf("%s imports %s: quiltctl is a client of the API only", pkg, imp)
			}
		}
	}
}

// TestQuiltctlLean keeps grpc-go, net/http and TLS out of quiltctl: they
// double its binary and make every command start 5 ms later on a slow
// machine. quiltctl speaks gRPC through internal/grpcwire.
func TestQuiltctlLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/quiltctl").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "google.golang.org/grpc", "net/http", "crypto/tls", "golang.org/x/net/http2":
			t.Errorf("quiltctl links %s", dep)
		}
	}
}
