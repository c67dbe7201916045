package nixfix

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sharedFixturesEnv names the output directory of make-fixtures.sh. The
// conformance test below runs only when it is set, so the package's own
// tests never depend on files outside the repository.
const sharedFixturesEnv = "QUILT_NIX_FIXTURES"

type fixtureExpect struct {
	Name   string `json:"name"`
	Expect struct {
		Result   Result           `json:"result"`
		ExitCode int              `json:"exitCode"`
		Findings []map[string]any `json:"findings"`
		Actions  []map[string]any `json:"actions"`
		Errors   []map[string]any `json:"errors"`
	} `json:"expect"`
	PolicyVariants map[string]map[string]json.RawMessage `json:"policyVariants"`
	HostCanary     *struct {
		Path            string `json:"path"`
		Template        string `json:"template"`
		MustBeUnchanged bool   `json:"mustBeUnchanged"`
	} `json:"hostCanary"`
}

// TestSharedFixtures runs the test protocol of SPEC.md section 9 on every
// fixture of `make-fixtures.sh -o $QUILT_NIX_FIXTURES`.
func TestSharedFixtures(t *testing.T) {
	dir := os.Getenv(sharedFixturesEnv)
	if dir == "" {
		t.Skipf("set %s to the output directory of make-fixtures.sh", sharedFixturesEnv)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		fx := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(fx, "expected.json")); err != nil {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) { runSharedFixture(t, fx) })
	}
	if n == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
}

func runSharedFixture(t *testing.T, fx string) {
	var exp fixtureExpect
	data, err := os.ReadFile(filepath.Join(fx, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatalf("expected.json: %v", err)
	}
	readFile := func(name string) string {
		b, err := os.ReadFile(filepath.Join(fx, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if exp.HostCanary != nil {
		canary := exp.HostCanary.Path
		if _, err := os.Lstat(canary); err == nil {
			t.Fatalf("host canary %s exists already; refusing to touch it", canary)
		}
		copyTree(t, filepath.Join(fx, exp.HostCanary.Template), canary)
		t.Cleanup(func() { makeWritable(canary); os.RemoveAll(canary) })
		before := contentDigest(t, canary)
		defer func() {
			if contentDigest(t, canary) != before {
				t.Errorf("SEC-11: host canary %s changed", canary)
			}
		}()
	}

	// Steps 1 to 4: repair a copy with the default policy.
	bundle := freshBundle(t, fx)
	rep := runBundle(t, bundle, nil)
	if rep.Result != exp.Expect.Result || rep.ExitCode != exp.Expect.ExitCode {
		t.Errorf("result %s exit %d, want %s exit %d", rep.Result, rep.ExitCode, exp.Expect.Result, exp.Expect.ExitCode)
	}
	checkErrors(t, rep, exp.Expect.Errors)
	checkActions(t, "default", rep, exp.Expect.Actions)
	checkFindings(t, rep, exp.Expect.Findings)
	rootfs := filepath.Join(bundle, "rootfs")
	if got, want := manifest(t, rootfs), readFile("manifest.after"); got != want {
		t.Errorf("manifest after repair differs from manifest.after:\n%s", lineDiff(want, got))
	}
	_, statErr := os.Lstat(filepath.Join(rootfs, inRootReport))
	_, quiltErr := os.Lstat(filepath.Join(rootfs, quiltDir))
	switch {
	case len(rep.Actions) == 0 && statErr == nil:
		t.Errorf("%s written without actions", inRootReport)
	case len(rep.Actions) > 0 && quiltErr == nil && statErr != nil:
		t.Errorf("%s missing after %d actions", inRootReport, len(rep.Actions))
	case len(rep.Actions) > 0 && quiltErr != nil:
		t.Logf("note: %d actions but no %s: manifest.after has no /.quilt, so the report stays out of the rootfs", len(rep.Actions), quiltDir)
	}

	// Step 5: a second run changes nothing, the in-root report included.
	before := manifest(t, rootfs)
	reportBefore, _ := os.ReadFile(filepath.Join(rootfs, inRootReport))
	again := runBundle(t, bundle, nil)
	if len(again.Actions) != 0 {
		t.Errorf("second run took %d actions: %+v", len(again.Actions), again.Actions)
	}
	reportAfter, _ := os.ReadFile(filepath.Join(rootfs, inRootReport))
	if manifest(t, rootfs) != before || string(reportAfter) != string(reportBefore) {
		t.Error("second run changed the tree")
	}

	// Undo gives back manifest.before.
	steps, err := Undo(rootfs, rep.Actions)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if !st.Undone {
			t.Errorf("undo %s %s: %s", st.Op, st.Path, st.Reason)
		}
	}
	if got, want := manifest(t, rootfs), readFile("manifest.before"); got != want {
		t.Errorf("manifest after undo differs from manifest.before:\n%s", lineDiff(want, got))
	}

	// Step 7: policy variants.
	for name, fields := range exp.PolicyVariants {
		t.Run("policy="+name, func(t *testing.T) {
			p, err := ParsePolicy(name)
			if err != nil {
				t.Fatal(err)
			}
			rep := runBundle(t, freshBundle(t, fx), &p)
			for field, raw := range fields {
				switch field {
				case "actions":
					var acts []map[string]any
					if err := json.Unmarshal(raw, &acts); err != nil {
						t.Fatal(err)
					}
					checkActions(t, name, rep, acts)
				case "result":
					var r Result
					json.Unmarshal(raw, &r)
					if rep.Result != r {
						t.Errorf("result %s, want %s", rep.Result, r)
					}
				case "exitCode":
					var c int
					json.Unmarshal(raw, &c)
					if rep.ExitCode != c {
						t.Errorf("exit %d, want %d", rep.ExitCode, c)
					}
				default:
					t.Errorf("policy variant field %q not checked", field)
				}
			}
		})
	}

	// Step 8: --check writes nothing; exit 3 iff a warning or error.
	check := freshBundle(t, fx)
	rootfs = filepath.Join(check, "rootfs")
	before = manifest(t, rootfs)
	crep := runBundle(t, check, nil, func(o *Options) { o.Mode = ModeCheck })
	if manifest(t, rootfs) != before {
		t.Error("check mode changed the tree")
	}
	wantExit := ExitOK
	for _, f := range exp.Expect.Findings {
		if k := Kind(f["kind"].(string)); k != KindMissingBinSh && k != KindMissingUsrBinEnv {
			wantExit = ExitFindings
		}
	}
	if crep.ExitCode != wantExit {
		t.Errorf("check exit %d, want %d", crep.ExitCode, wantExit)
	}
	t.Logf("result=%s exit=%d findings=%d actions=%d check-exit=%d", rep.Result, rep.ExitCode, len(rep.Findings), len(rep.Actions), crep.ExitCode)
}

// freshBundle copies the fixture's rootfs and config.json to a temp dir.
func freshBundle(t *testing.T, fx string) string {
	b := tempDir(t)
	copyTree(t, filepath.Join(fx, "rootfs"), filepath.Join(b, "rootfs"))
	if err := copyFile(filepath.Join(fx, "config.json"), filepath.Join(b, "config.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func runBundle(t *testing.T, bundle string, p *Policy, tweak ...func(*Options)) *Report {
	t.Helper()
	rootfs, o, err := BundleOptions(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if p != nil {
		o.Policy = *p
	}
	for _, f := range tweak {
		f(&o)
	}
	rep, err := Run(rootfs, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// asMap turns a report item into its JSON object.
func asMap(t *testing.T, v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// matches reports whether got has every field of want with an equal value
// (absent booleans are false), ignoring id and fixes.
func matches(got, want map[string]any) bool {
	for k, v := range want {
		if k == "id" || k == "fixes" {
			continue
		}
		g, ok := got[k]
		if !ok {
			if b, isBool := v.(bool); isBool && !b {
				continue
			}
			return false
		}
		if !reflect.DeepEqual(g, v) {
			return false
		}
	}
	return true
}

func checkActions(t *testing.T, policy string, rep *Report, want []map[string]any) {
	t.Helper()
	var got []map[string]any
	for _, a := range rep.Actions {
		got = append(got, asMap(t, a))
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && matches(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("[%s] missing action %v", policy, w)
		}
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("[%s] unexpected action %v", policy, g)
		}
	}
}

func checkFindings(t *testing.T, rep *Report, want []map[string]any) {
	t.Helper()
	used := make([]bool, len(rep.Findings))
	for _, w := range want {
		found := false
		for i, f := range rep.Findings {
			if !used[i] && matches(asMap(t, f), w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			var same []map[string]any
			for _, f := range rep.Findings {
				if string(f.Kind) == w["kind"] && f.Path == w["path"] {
					same = append(same, asMap(t, f))
				}
			}
			t.Errorf("missing finding %v; same kind and path: %v", w, same)
		}
	}
	for i, f := range rep.Findings {
		if !used[i] && f.Severity != SeverityInfo {
			t.Errorf("unexpected %s finding %v", f.Severity, asMap(t, f))
		}
	}
}

func checkErrors(t *testing.T, rep *Report, want []map[string]any) {
	t.Helper()
	var got, exp []string
	for _, e := range rep.Errors {
		got = append(got, e.Code+" "+e.Path)
	}
	for _, e := range want {
		exp = append(exp, e["code"].(string)+" "+e["path"].(string))
	}
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		t.Errorf("errors %q, want %q (%+v)", got, exp, rep.Errors)
	}
}

// lineDiff lists the lines only in want (-) or only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for _, l := range w {
		if !slices.Contains(g, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
