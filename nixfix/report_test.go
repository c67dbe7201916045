package nixfix

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestReportText(t *testing.T) {
	m := "/nix/store/" + testHash + "-hello-2.12.1"
	rep := &Report{
		Result: ResultPartial, DurationMs: 14,
		Findings: []*Finding{
			{Kind: KindUnsafePath, Severity: SeverityError, Path: "/.quilt", Target: "/usr/local", Resolution: Unresolved},
			{Kind: KindDanglingStoreLink, Severity: SeverityWarning, Path: "/bin/hello", Missing: m, Resolution: Repaired},
			{Kind: KindDanglingLink, Severity: SeverityWarning, Path: "/bin/ijs", Target: "../lib/x.js", Resolution: Unresolved, Reason: ReasonNotStore},
			{Kind: KindMissingBinSh, Severity: SeverityInfo, Path: "/bin/sh", Resolution: Unresolved},
		},
		Actions: []*Action{{ID: "A1", Op: OpSymlink, Path: m, Target: "1" + testHash[1:] + "-hello-2.12.1", Reason: ActionSubstitute}},
		Errors:  []ReportError{{Code: CodeUnsafePath, Path: "/.quilt", Message: "/.quilt: is a symlink (-> /usr/local); refusing to write through it"}},
	}
	rep.Summary.Findings = Counts{Error: 1, Warning: 2, Info: 1}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `nixfix: error: E_UNSAFE_PATH: /.quilt: /.quilt: is a symlink (-> /usr/local); refusing to write through it
nixfix: error: /.quilt: symlink or non-directory on a path nixfix writes through (-> /usr/local)
nixfix: warning: /bin/ijs: dangling link to ../lib/x.js (not-store)
nixfix: repaired: ` + m + ` -> 1` + testHash[1:] + `-hello-2.12.1 (same name, different build)
nixfix: summary: result=partial findings=4 (1 error, 2 warning, 1 info) actions=1 unresolved=2 in 14ms
`
	if b.String() != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", b.String(), want)
	}
	if rep.Unresolved() != 2 {
		t.Errorf("Unresolved = %d", rep.Unresolved())
	}
	j, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	f := back["findings"].([]any)[1].(map[string]any)
	if f["missing"] != m || f["kind"] != "dangling-store-link" || f["lexicalEscape"] != nil {
		t.Errorf("finding JSON = %v", f)
	}
}
