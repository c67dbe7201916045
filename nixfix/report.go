package nixfix

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Schema is the report's schema name.
const Schema = "quilt.nixfix/v1"

// Result is the overall outcome of a run.
type Result string

const (
	ResultSkipped Result = "skipped"
	ResultOK      Result = "ok"
	ResultPartial Result = "partial"
	ResultError   Result = "error"
)

// Exit codes of `quilt nixfix`. In built-in mode quilt create
// fails on ExitStrict only.
const (
	ExitOK       = 0 // ok, partial (not strict) or skipped
	ExitError    = 1 // usage, internal or I/O error that stopped the run
	ExitStrict   = 2 // strict mode and the result would be partial
	ExitFindings = 3 // --check found a finding of severity warning or error
)

// Kind names a finding (SPEC.md 5.5).
type Kind string

const (
	KindDanglingStoreLink   Kind = "dangling-store-link"
	KindDanglingLink        Kind = "dangling-link"
	KindSymlinkLoop         Kind = "symlink-loop"
	KindMissingELFInterp    Kind = "missing-elf-interpreter"
	KindMissingRunpathEntry Kind = "missing-runpath-entry"
	KindMissingNeededLib    Kind = "missing-needed-library"
	KindMissingScriptInterp Kind = "missing-script-interpreter"
	KindMissingBinSh        Kind = "missing-bin-sh"
	KindMissingUsrBinEnv    Kind = "missing-usr-bin-env"
	KindStoreAbsent         Kind = "store-absent"
	KindUnsafePath          Kind = "unsafe-path"
	KindScanTruncated       Kind = "scan-truncated"
)

// Severity of a finding.
type Severity string

const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Resolution says what became of a finding.
type Resolution string

const (
	Repaired   Resolution = "repaired"
	Unresolved Resolution = "unresolved"
	// Superseded: the entry was replaced by a shell-provisioning action.
	Superseded Resolution = "superseded"
)

// Reason explains an unresolved (or superseded) finding.
type Reason string

const (
	ReasonNoCandidate       Reason = "no-candidate"
	ReasonAmbiguous         Reason = "ambiguous"
	ReasonSubpathMissing    Reason = "candidate-subpath-missing"
	ReasonCandUnresolvable  Reason = "candidate-unresolvable"
	ReasonStoreAbsent       Reason = "store-absent"
	ReasonNotStore          Reason = "not-store"
	ReasonLoop              Reason = "loop"
	ReasonUnsafe            Reason = "unsafe"
	ReasonSymlink           Reason = "symlink"
	ReasonMissing           Reason = "missing"
	ReasonPolicyDisabled    Reason = "policy-disabled"
	reasonSubstituteAllowed Reason = "" // one usable candidate: nothing to explain
)

// Finding is one problem nixfix detected.
type Finding struct {
	ID         string     `json:"id"`
	Kind       Kind       `json:"kind"`
	Severity   Severity   `json:"severity"`
	Path       string     `json:"path"`
	Resolution Resolution `json:"resolution"`
	Reason     Reason     `json:"reason,omitempty"`
	// Status is the outcome class of the failed in-root resolution:
	// enoent, eloop, enotdir, xdev or magic.
	Status string   `json:"status,omitempty"`
	Chain  []string `json:"chain,omitempty"`
	// Via lists the names an executable was reached through.
	Via           []string `json:"via,omitempty"`
	Target        string   `json:"target,omitempty"`
	Missing       string   `json:"missing,omitempty"`
	Candidates    []string `json:"candidates,omitempty"`
	Hints         []string `json:"hints,omitempty"`
	LexicalEscape bool     `json:"lexicalEscape,omitempty"`
	ProcMagic     bool     `json:"procMagic,omitempty"`
	Interpreter   string   `json:"interpreter,omitempty"`
	Entry         string   `json:"entry,omitempty"`
	Library       string   `json:"library,omitempty"`
	Budget        string   `json:"budget,omitempty"`
	FixedBy       []string `json:"fixedBy,omitempty"`

	key       string      // one finding per (kind, path, interpreter|entry|library)
	deps      []string    // missing store paths whose alias may fix it
	sub       string      // sub-path referenced through Missing
	entry     bool        // on the entrypoint chain
	recheck   func() bool // reports whether the problem is gone
	unsafe    bool        // provisioning it was refused as unsafe
	supersede string      // action id that replaced the entry
}

// Op names an action (SPEC.md 5.7, the complete list).
type Op string

const (
	OpMkdir                  Op = "mkdir"
	OpPlaceholder            Op = "placeholder"
	OpCopy                   Op = "copy"
	OpSymlink                Op = "symlink"
	OpReplaceSymlink         Op = "replace-symlink"
	OpExpandDirlink          Op = "expand-dirlink"
	OpReplaceDanglingDirlink Op = "replace-dangling-dirlink"
)

// Action reasons.
const (
	ActionSubstitute = "substitute-same-name"
	ActionShell      = "shell-provision"
	ActionShim       = "shell-shim"
	ActionFHSLoader  = "fhs-loader"
)

// Action is one change nixfix made to the rootfs.
type Action struct {
	ID             string   `json:"id"`
	Op             Op       `json:"op"`
	Path           string   `json:"path"`
	Target         string   `json:"target,omitempty"`
	PreviousTarget string   `json:"previousTarget,omitempty"`
	Entries        []string `json:"entries,omitempty"`
	Mode           string   `json:"mode,omitempty"`
	SHA256         string   `json:"sha256,omitempty"`
	Reason         string   `json:"reason"`
	Fixes          []string `json:"fixes"`

	claims []*Finding // findings this action is meant to fix
}

// Error codes.
const (
	CodeRootfs     = "E_ROOTFS"
	CodeConfig     = "E_CONFIG"
	CodeUnsafePath = "E_UNSAFE_PATH"
	CodeReadOnly   = "E_READONLY"
	CodePerm       = "E_PERM"
	CodeExists     = "E_EXISTS"
	CodeBudget     = "E_BUDGET"
)

// ReportError is an error that stopped a run or one of its writes.
type ReportError struct {
	Code    string `json:"code"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// StoreSummary describes the rootfs's /nix/store.
type StoreSummary struct {
	Present    bool `json:"present"`
	Safe       bool `json:"safe"`
	StorePaths int  `json:"storePaths"`
}

// Counts are findings per severity.
type Counts struct {
	Error   int `json:"error"`
	Warning int `json:"warning"`
	Info    int `json:"info"`
}

// Summary counts what the run looked at and did.
type Summary struct {
	Entries     int    `json:"entries"`
	Symlinks    int    `json:"symlinks"`
	ExecChecked int    `json:"execChecked"`
	Findings    Counts `json:"findings"`
	Actions     int    `json:"actions"`
}

// ReportPolicy is the policy the run used, with the shell mode.
type ReportPolicy struct {
	Policy
	Shell ShellMode `json:"shell"`
}

// Report is the quilt.nixfix/v1 report (SPEC.md 5.10).
type Report struct {
	Schema     string        `json:"schema"`
	Rootfs     string        `json:"rootfs"`
	Mode       Mode          `json:"mode"`
	Policy     ReportPolicy  `json:"policy"`
	NixLike    bool          `json:"nixLike"`
	Result     Result        `json:"result"`
	ExitCode   int           `json:"exitCode"`
	DurationMs int64         `json:"durationMs"`
	Store      StoreSummary  `json:"store"`
	Summary    Summary       `json:"summary"`
	Findings   []*Finding    `json:"findings"`
	Actions    []*Action     `json:"actions"`
	Warnings   []string      `json:"warnings"`
	Errors     []ReportError `json:"errors"`
}

// Unresolved counts the findings of severity warning or error that are
// still unresolved.
func (r *Report) Unresolved() int {
	n := 0
	for _, f := range r.Findings {
		if f.Resolution == Unresolved && f.Severity != SeverityInfo {
			n++
		}
	}
	return n
}

// JSON encodes the report, indented, with a final newline.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode nixfix report: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteText writes the stderr form of the report: one line per
// error, per unresolved warning or error finding and per action, then a
// summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "nixfix: error: %s: %s: %s\n", e.Code, e.Path, e.Message)
	}
	for _, f := range r.Findings {
		if f.Resolution == Unresolved && f.Severity != SeverityInfo {
			fmt.Fprintf(&b, "nixfix: %s: %s: %s\n", f.Severity, f.Path, f.describe())
		}
	}
	for _, a := range r.Actions {
		fmt.Fprintf(&b, "nixfix: repaired: %s\n", a.describe())
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(&b, "nixfix: note: %s\n", s)
	}
	c := r.Summary.Findings
	fmt.Fprintf(&b, "nixfix: summary: result=%s findings=%d (%d error, %d warning, %d info) actions=%d unresolved=%d in %dms\n",
		r.Result, c.Error+c.Warning+c.Info, c.Error, c.Warning, c.Info, len(r.Actions), r.Unresolved(), r.DurationMs)
	_, err := io.WriteString(w, b.String())
	return err
}

// describe is a one-line explanation of a finding.
func (f *Finding) describe() string {
	var s string
	switch f.Kind {
	case KindDanglingStoreLink:
		s = "dangling link into missing store path " + f.Missing
	case KindDanglingLink:
		s = "dangling link to " + f.Target
	case KindSymlinkLoop:
		s = "symlink loop"
	case KindMissingELFInterp:
		s = "ELF interpreter " + f.Interpreter + " is missing"
	case KindMissingRunpathEntry:
		s = "RUNPATH entry " + f.Entry + " is missing"
	case KindMissingNeededLib:
		s = "needed library " + f.Library + " is not in any RUNPATH directory"
	case KindMissingScriptInterp:
		s = "script interpreter " + f.Interpreter + " is missing"
	case KindMissingBinSh:
		s = "no usable /bin/sh"
	case KindMissingUsrBinEnv:
		s = "no /usr/bin/env"
	case KindStoreAbsent:
		s = "no usable /nix/store (image built with includeStorePaths = false? provide a store mount)"
	case KindUnsafePath:
		s = "symlink or non-directory on a path nixfix writes through"
		if f.Target != "" {
			s += " (-> " + f.Target + ")"
		}
	case KindScanTruncated:
		s = "scan stopped at budget " + f.Budget
	}
	if f.Reason != "" {
		s += " (" + string(f.Reason) + ")"
	}
	return s
}

func (a *Action) describe() string {
	switch a.Op {
	case OpSymlink, OpReplaceSymlink, OpExpandDirlink:
		s := a.Path + " -> " + a.Target
		if a.Reason == ActionSubstitute {
			s += " (same name, different build)"
		}
		return s
	}
	return string(a.Op) + " " + a.Path
}

// FailedReport is the report of a run that could not start, e.g. because
// the bundle's config.json is unreadable (result error, exit code 1).
func FailedReport(mode Mode, code, path string, err error) *Report {
	return &Report{Schema: Schema, Mode: mode, Result: ResultError, ExitCode: ExitError,
		Findings: []*Finding{}, Actions: []*Action{}, Warnings: []string{},
		Errors: []ReportError{{Code: code, Path: path, Message: err.Error()}}}
}
