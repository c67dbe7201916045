package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// shortIDLen is the length of ids in tables, as docker shows them.
const shortIDLen = 12

// commandWidth is the width of ps's COMMAND column without --no-trunc.
const commandWidth = 20

// shortID is the first 12 hex digits of a container or image id.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > shortIDLen {
		return id[:shortIDLen]
	}
	return id
}

// truncate cuts s to width runes, ending in "…" when it cut.
func truncate(s string, width int) string {
	if width <= 0 || utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// shellQuote quotes an argument for a shell when it needs it.
func shellQuote(arg string) string {
	if arg != "" && !strings.ContainsAny(arg, " \t\n'\"\\$`;&|<>()*?[]#~{}!") {
		return arg
	}
	return "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
}

// commandText is ps's COMMAND column: the command line, quoted for a shell
// where needed, cut to width runes (no cut when width is 0), in quotes.
func commandText(args []string, width int) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return `"` + truncate(strings.Join(q, " "), width) + `"`
}

// writeTable writes rows under header in columns aligned with spaces. The
// table goes out in few writes: tabwriter writes every cell and padding
// on its own.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

var containerHeader = []string{"CONTAINER ID", "NAME", "IMAGE", "COMMAND", "CREATED", "STATUS"}

// containerRows are ps's rows, newest container first.
func containerRows(cs []*quiltv1.Container, now time.Time, noTrunc bool) [][]string {
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b *quiltv1.Container) int {
		return b.GetCreatedAt().AsTime().Compare(a.GetCreatedAt().AsTime())
	})
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		id, width := shortID(c.GetId()), commandWidth
		if noTrunc {
			id, width = c.GetId(), 0
		}
		rows = append(rows, []string{
			id, c.GetName(), c.GetImage(), commandText(c.GetCommand(), width),
			ago(c.GetCreatedAt(), now), containerStatus(c, now),
		})
	}
	return rows
}

var imageHeader = []string{"ID", "NAMES", "FORMAT", "SIZE", "IMPORTED"}

// imageRows are images's rows, newest import first.
func imageRows(imgs []*quiltv1.Image, now time.Time, noTrunc bool) [][]string {
	imgs = slices.Clone(imgs)
	slices.SortStableFunc(imgs, func(a, b *quiltv1.Image) int {
		return b.GetImportedAt().AsTime().Compare(a.GetImportedAt().AsTime())
	})
	rows := make([][]string, 0, len(imgs))
	for _, img := range imgs {
		id := shortID(img.GetId())
		if noTrunc {
			id = img.GetId()
		}
		rows = append(rows, []string{
			id, strings.Join(img.GetNames(), ", "), img.GetFormat(),
			formatSize(uint64(max(img.GetSize(), 0))), ago(img.GetImportedAt(), now),
		})
	}
	return rows
}
