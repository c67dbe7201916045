package main

import (
	"strings"
	"testing"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		width       int
		want        string
	}{
		{0, 100, 12, "[          ]"},
		{50, 100, 12, "[====>     ]"},
		{100, 100, 12, "[==========]"},
		{150, 100, 12, "[==========]"},
		{-5, 100, 12, "[          ]"},
		{1, 100, 12, "[          ]"},
		{10, 100, 12, ">"},
		{5, 0, 12, ""},
		{5, 10, 2, ""},
	} {
		got := progressBar(tc.done, tc.total, tc.width)
		if tc.want == ">" {
			if got != "[>         ]" {
				t.Errorf("progressBar(%d, %d, %d) = %q, want the arrow in the first cell", tc.done, tc.total, tc.width, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("progressBar(%d, %d, %d) = %q, want %q", tc.done, tc.total, tc.width, got, tc.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		p     *quiltv1.ImportProgress
		width int
		want  string
	}{
		{&quiltv1.ImportProgress{Phase: "reading", Bytes: 1 << 20, Total: 4 << 20}, 80,
			"reading [========>                             ] 1MiB / 4MiB"},
		{&quiltv1.ImportProgress{Phase: "unpacking", Layer: 2, Layers: 5, Bytes: 3 << 20}, 80, "unpacking layer 2/5 3MiB"},
		{&quiltv1.ImportProgress{Phase: "unpacking", Layer: 2, Layers: 5, Bytes: 1, Total: 2}, 34, "unpacking layer 2/5 [=>  ] 1B / 2B"},
		{&quiltv1.ImportProgress{Phase: "unpacking", Layer: 2, Layers: 5, Bytes: 1, Total: 2}, 20, "unpacking layer 2/5…"},
		{&quiltv1.ImportProgress{Phase: "done"}, 80, "done"},
	} {
		got := progressLine(tc.p, tc.width)
		if got != tc.want {
			t.Errorf("progressLine(%v, %d) = %q, want %q", tc.p, tc.width, got, tc.want)
		}
		if len([]rune(got)) > tc.width {
			t.Errorf("progressLine(%v, %d) is %d wide", tc.p, tc.width, len([]rune(got)))
		}
	}
}

func TestProgressPrinterTerminal(t *testing.T) {
	var b strings.Builder
	pr := &progressPrinter{w: &b, terminal: true, width: 40}
	pr.update(&quiltv1.ImportProgress{Phase: "reading", Total: 10})
	pr.update(&quiltv1.ImportProgress{Phase: "reading", Bytes: 5, Total: 10}) // within redrawEvery: skipped
	pr.update(&quiltv1.ImportProgress{Phase: "done"})
	pr.finish()
	want := "\rreading [                     ] 0B / 10B\033[K\rdone\033[K\n"
	if b.String() != want {
		t.Errorf("terminal progress %q, want %q", b.String(), want)
	}
}
