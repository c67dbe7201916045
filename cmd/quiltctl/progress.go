package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// progressLabel names the step of an import: "reading", "unpacking layer
// 2/5", "done".
func progressLabel(p *quiltv1.ImportProgress) string {
	if p.GetPhase() == "unpacking" && p.GetLayers() > 0 {
		return fmt.Sprintf("unpacking layer %d/%d", p.GetLayer(), p.GetLayers())
	}
	return p.GetPhase()
}

// progressAmount is the bytes done, of the total when it is known.
func progressAmount(p *quiltv1.ImportProgress) string {
	done := formatSize(uint64(max(p.GetBytes(), 0)))
	if p.GetTotal() > 0 {
		return done + " / " + formatSize(uint64(p.GetTotal()))
	}
	return done
}

// progressBar draws done of total in width cells: "[=====>    ]".
func progressBar(done, total int64, width int) string {
	inner := width - 2
	if inner < 1 || total <= 0 {
		return ""
	}
	fill := int(min(max(done, 0), total) * int64(inner) / total)
	switch {
	case fill >= inner:
		return "[" + strings.Repeat("=", inner) + "]"
	case fill == 0:
		return "[" + strings.Repeat(" ", inner) + "]"
	}
	return "[" + strings.Repeat("=", fill-1) + ">" + strings.Repeat(" ", inner-fill) + "]"
}

// progressLine is the terminal's line for p, at most width columns: the
// step, a bar when the total is known and there is room, and the amount.
func progressLine(p *quiltv1.ImportProgress, width int) string {
	label, amount := progressLabel(p), progressAmount(p)
	if p.GetPhase() == "done" {
		return truncate(label, width)
	}
	const maxBar = 40
	barWidth := min(maxBar, width-len(label)-len(amount)-2)
	if bar := progressBar(p.GetBytes(), p.GetTotal(), barWidth); bar != "" {
		return label + " " + bar + " " + amount
	}
	return truncate(label+" "+amount, width)
}

// progressPrinter shows an import's progress: one redrawn line on a
// terminal, a line per step otherwise.
type progressPrinter struct {
	w        io.Writer
	terminal bool
	width    int
	label    string
	drawn    time.Time
}

// redrawEvery limits the redraws of the terminal line.
const redrawEvery = 100 * time.Millisecond

func (pr *progressPrinter) update(p *quiltv1.ImportProgress) {
	label := progressLabel(p)
	changed := label != pr.label
	pr.label = label
	if !pr.terminal {
		if changed {
			fmt.Fprintln(pr.w, label)
		}
		return
	}
	if now := time.Now(); changed || now.Sub(pr.drawn) >= redrawEvery {
		pr.drawn = now
		fmt.Fprintf(pr.w, "\r%s\033[K", progressLine(p, pr.width))
	}
}

// finish ends the terminal's line.
func (pr *progressPrinter) finish() {
	if pr.terminal && !pr.drawn.IsZero() {
		fmt.Fprintln(pr.w)
	}
}
