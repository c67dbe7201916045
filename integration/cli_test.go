package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// readSpec parses dir/config.json.
func readSpec(t *testing.T, dir string) *specs.Spec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("config.json does not parse: %v", err)
	}
	return &s
}

func namespaces(s *specs.Spec) []specs.LinuxNamespaceType {
	var ns []specs.LinuxNamespaceType
	if s.Linux != nil {
		for _, n := range s.Linux.Namespaces {
			ns = append(ns, n.Type)
		}
	}
	return ns
}

// TestSpec checks that spec writes a usable config.json (with --bundle or
// in the working directory), a rootless one with --rootless, and refuses to
// overwrite an existing one.
func TestSpec(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	dir := t.TempDir()
	h.mustExec("spec", "--bundle", dir)
	s := readSpec(t, dir)
	if !semver.MatchString(s.Version) {
		t.Errorf("ociVersion %q", s.Version)
	}
	if s.Process == nil || len(s.Process.Args) == 0 || s.Root == nil || s.Root.Path != "rootfs" {
		t.Errorf("spec: process %+v root %+v, want args and rootfs", s.Process, s.Root)
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace} {
		if !slices.Contains(namespaces(s), ns) {
			t.Errorf("spec: namespaces %v lack %s", namespaces(s), ns)
		}
	}

	before := readFile(filepath.Join(dir, "config.json"))
	wantError(t, h.exec("spec", "--bundle", dir), "config.json")
	if after := readFile(filepath.Join(dir, "config.json")); after != before {
		t.Error("spec overwrote an existing config.json")
	}

	cwd := t.TempDir()
	if r := h.execOpts(opts{dir: cwd}, "spec"); r.code != 0 {
		t.Fatalf("%v", r)
	}
	readSpec(t, cwd)
	wantError(t, h.execOpts(opts{dir: cwd}, "spec"), "config.json")

	rootless := t.TempDir()
	h.mustExec("spec", "--rootless", "--bundle", rootless)
	rs := readSpec(t, rootless)
	if !slices.Contains(namespaces(rs), specs.UserNamespace) {
		t.Errorf("spec --rootless: namespaces %v lack user", namespaces(rs))
	}
	if len(rs.Linux.UIDMappings) == 0 || len(rs.Linux.GIDMappings) == 0 {
		t.Errorf("spec --rootless: uid mappings %v gid mappings %v", rs.Linux.UIDMappings, rs.Linux.GIDMappings)
	} else if m := rs.Linux.UIDMappings[0]; m.ContainerID != 0 || m.HostID != uint32(os.Getuid()) {
		t.Errorf("spec --rootless: uid mapping %+v, want container 0 to host %d", m, os.Getuid())
	}
}

// TestVersion checks that --version names the runtime-spec version.
func TestVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustExec("--version")
	if !strings.Contains(strings.SplitN(r.stdout, "\n", 2)[0], "version") {
		t.Errorf("--version first line %q, want a version", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^spec: \d+\.\d+\.\d+`).MatchString(r.stdout) {
		t.Errorf("--version output %q, want a line spec: X.Y.Z", r.stdout)
	}
}

// TestLog checks --log with both formats: an error is logged at level
// error, as JSON lines with level, msg and time, or as logfmt text.
func TestLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.id()

	jsonLog := filepath.Join(h.dir, "log.json")
	wantError(t, h.exec("--log", jsonLog, "--log-format", "json", "state", id), id)
	var errLine map[string]any
	for _, e := range jsonLines(t, jsonLog) {
		if e["level"] == "error" {
			errLine = e
		}
	}
	if errLine == nil {
		t.Fatalf("no level error line in %s:\n%s", jsonLog, readFile(jsonLog))
	}
	if msg, _ := errLine["msg"].(string); !isRunc && !strings.Contains(msg, id) {
		t.Errorf("logged error %q does not name %s", msg, id)
	}

	textLog := filepath.Join(h.dir, "log.txt")
	wantError(t, h.exec("--log", textLog, "--log-format", "text", "state", id), id)
	if got := readFile(textLog); !strings.Contains(got, "level=error") {
		t.Errorf("text log %q has no level=error", got)
	}
}

// TestDebugLog checks that --debug logs debug lines while a container is
// made and removed, all of them JSON.
func TestDebugLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	log := filepath.Join(h.dir, "log.json")
	b := h.bundle(testinit("pause"))
	id := h.id()
	if r := h.exec("--debug", "--log", log, "--log-format", "json", "create", "--bundle", b.Dir, id); r.code != 0 {
		t.Fatalf("%v", r)
	}
	h.mustExec("--debug", "--log", log, "--log-format", "json", "delete", "--force", id)
	debug := 0
	for _, e := range jsonLines(t, log) {
		if e["level"] == "debug" {
			debug++
		}
	}
	if debug == 0 {
		t.Errorf("--debug logged no debug line:\n%s", readFile(log))
	}
}

// jsonLines parses a JSON log, checking that every line has level, msg
// and time.
func jsonLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var entries []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(readFile(path)), "\n") {
		if l == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Errorf("%s: line is not JSON: %q", path, l)
			continue
		}
		for _, k := range []string{"level", "msg", "time"} {
			if _, ok := e[k]; !ok {
				t.Errorf("%s: line has no %s: %q", path, k, l)
			}
		}
		entries = append(entries, e)
	}
	return entries
}

// TestList checks list in its table, JSON and quiet forms, with one
// created and one running container, and on an empty root.
func TestList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := os.MkdirAll(h.root, 0o700); err != nil {
		t.Fatal(err)
	}
	var empty []any
	if r := h.mustExec("list", "--format", "json"); json.Unmarshal([]byte(r.stdout), &empty) != nil || len(empty) != 0 {
		t.Errorf("list --format json on an empty root: %q", r.stdout)
	}

	want := map[string]string{} // id -> status
	bundles := map[string]string{}
	for _, status := range []string{"created", "running"} {
		b := h.bundle(testinit("pause"))
		id := h.id()
		cr := h.create(b, id)
		if cr.code != 0 {
			t.Fatalf("%v", cr)
		}
		if status == "running" {
			h.mustExec("start", id)
			waitFile(t, cr.outPath, "ready")
		}
		want[id], bundles[id] = status, b.Dir
	}

	lines := strings.Split(strings.TrimSpace(h.mustExec("list").stdout), "\n")
	if got := strings.Fields(lines[0]); !slices.Equal(got, []string{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}) {
		t.Errorf("list header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	for id, status := range want {
		if f := rows[id]; len(f) < 4 || f[2] != status || f[3] != bundles[id] {
			t.Errorf("list row for %s: %q, want status %s bundle %s", id, f, status, bundles[id])
		}
	}
	if len(rows) != len(want) {
		t.Errorf("list rows %v, want %d", rows, len(want))
	}

	var entries []struct {
		ID      string `json:"id"`
		Pid     int    `json:"pid"`
		Status  string `json:"status"`
		Bundle  string `json:"bundle"`
		Created string `json:"created"`
	}
	r := h.mustExec("list", "--format", "json")
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatalf("list --format json: %v: %q", err, r.stdout)
	}
	for _, e := range entries {
		if want[e.ID] != e.Status || bundles[e.ID] != e.Bundle || e.Pid <= 0 || e.Created == "" {
			t.Errorf("list --format json entry %+v, want status %s bundle %s", e, want[e.ID], bundles[e.ID])
		}
	}
	if len(entries) != len(want) {
		t.Errorf("list --format json: %d entries, want %d", len(entries), len(want))
	}

	quiet := strings.Fields(h.mustExec("list", "-q").stdout)
	slices.Sort(quiet)
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !slices.Equal(quiet, ids) {
		t.Errorf("list -q: %v, want %v", quiet, ids)
	}
}
