package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestShortID(t *testing.T) {
	for in, want := range map[string]string{
		"sha256:0123456789abcdef0123": "0123456789ab",
		"0123456789abcdef0123":        "0123456789ab",
		"abc":                         "abc",
		"":                            "",
	} {
		if got := shortID(in); got != want {
			t.Errorf("shortID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommandText(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		width int
		want  string
	}{
		{[]string{"httpd", "-f"}, 20, `"httpd -f"`},
		{[]string{"sh", "-c", "echo hi; exit 3"}, 0, `"sh -c 'echo hi; exit 3'"`},
		{[]string{"sh", "-c", "echo hi; exit 3"}, 20, `"sh -c 'echo hi; exi…"`},
		{[]string{"echo", "it's"}, 0, `"echo 'it'\''s'"`},
		{[]string{"echo", ""}, 0, `"echo ''"`},
		{[]string{"écho", "ünïcode", "wörds"}, 10, `"écho ünïc…"`},
		{nil, 20, `""`},
	} {
		if got := commandText(tc.args, tc.width); got != tc.want {
			t.Errorf("commandText(%q, %d) = %s, want %s", tc.args, tc.width, got, tc.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := writeTable(&b, []string{"A", "LONGER HEADER", "C"}, [][]string{{"value one", "x", "end"}, {"v", "", "e"}}); err != nil {
		t.Fatal(err)
	}
	want := "A           LONGER HEADER   C\n" +
		"value one   x               end\n" +
		"v                           e\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestContainerRows(t *testing.T) {
	now := time.Date(2026, 11, 28, 13, 50, 0, 0, time.UTC)
	id := strings.Repeat("ab", 32)
	cs := []*quiltv1.Container{
		{Id: "old", Name: "a", CreatedAt: timestamppb.New(now.Add(-time.Hour)), Status: quiltv1.Status_STATUS_CREATED},
		{Id: id, Name: "b", Image: "busybox", Command: []string{"sleep", "1000000000000000000000"}, CreatedAt: timestamppb.New(now.Add(-5 * time.Second)), Status: quiltv1.Status_STATUS_RUNNING, StartedAt: timestamppb.New(now.Add(-3 * time.Second))},
	}
	rows := containerRows(cs, now, false)
	want := [][]string{
		{id[:12], "b", "busybox", `"sleep 1000000000000…"`, "5 seconds ago", "Up 3 seconds"},
		{"old", "a", "", `""`, "About an hour ago", "Created"},
	}
	if len(rows) != 2 || strings.Join(rows[0], "|") != strings.Join(want[0], "|") || strings.Join(rows[1], "|") != strings.Join(want[1], "|") {
		t.Errorf("rows %q, want %q (newest first)", rows, want)
	}
	if rows := containerRows(cs, now, true); rows[0][0] != id || rows[0][3] != `"sleep 1000000000000000000000"` {
		t.Errorf("--no-trunc row %q, want the whole id and command", rows[0])
	}
	if cs[0].Id != "old" {
		t.Error("containerRows sorted its argument")
	}
}
