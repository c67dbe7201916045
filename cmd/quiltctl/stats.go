package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// statsInterval is the time between two samples of stats.
const statsInterval = time.Second

var statsHeader = []string{"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"}

func statsCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "show containers' use of CPU, memory and processes",
		ArgsUsage: "[CONTAINER...]",
		Description: `Shows the running containers, or the given ones, every second until
interrupted; --no-stream shows them once. The first CPU % is the average
since the container started, later ones over the last second. --format json
writes one JSON object per container and sample.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-stream", Usage: "show one sample and return"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "print whole ids"},
			formatFlag(),
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			asJSON, err := checkFormat(cmd)
			if err != nil {
				return err
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			targets, err := statsTargets(ctx, s, cmd)
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			_, onTerminal := terminalFd(w)
			failed := false
			for {
				var rows [][]string
				for _, t := range targets {
					if t.gone {
						continue
					}
					st, err := s.containers.Stats(ctx, &quiltv1.StatsRequest{Id: t.c.GetId()})
					if err != nil {
						fmt.Fprintf(cmd.Root().ErrWriter, "quiltctl: %v\n", err)
						t.gone, failed = true, true
						continue
					}
					if asJSON {
						if err := writeJSONLine(w, st); err != nil {
							return err
						}
					} else {
						rows = append(rows, statsRow(t.c, t.prev, st, cmd.Bool("no-trunc")))
					}
					t.prev = st
				}
				if !asJSON {
					if err := writeStats(w, rows, onTerminal && !cmd.Bool("no-stream")); err != nil {
						return err
					}
				}
				if cmd.Bool("no-stream") || allGone(targets) {
					break
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(statsInterval):
				}
			}
			if failed {
				return exitStatus(1)
			}
			return nil
		},
	}
}

// statsTarget is a container stats shows and its last sample.
type statsTarget struct {
	c    *quiltv1.Container
	prev *quiltv1.ContainerStats
	gone bool
}

// statsTargets are the containers named, or the running ones.
func statsTargets(ctx context.Context, s *session, cmd *cli.Command) ([]*statsTarget, error) {
	var targets []*statsTarget
	if !cmd.Args().Present() {
		resp, err := s.containers.List(ctx, &quiltv1.ListRequest{})
		if err != nil {
			return nil, err
		}
		for _, c := range resp.GetContainers() {
			targets = append(targets, &statsTarget{c: c})
		}
		return targets, nil
	}
	for _, id := range cmd.Args().Slice() {
		c, err := s.containers.Inspect(ctx, &quiltv1.InspectRequest{Id: id})
		if err != nil {
			return nil, err
		}
		targets = append(targets, &statsTarget{c: c})
	}
	return targets, nil
}

func allGone(targets []*statsTarget) bool {
	for _, t := range targets {
		if !t.gone {
			return false
		}
	}
	return true
}

// writeStats writes one table of samples, at the top of a cleared screen
// when redraw is set.
func writeStats(w io.Writer, rows [][]string, redraw bool) error {
	if redraw {
		if _, err := io.WriteString(w, "\033[H\033[2J"); err != nil {
			return err
		}
	}
	return writeTable(w, statsHeader, rows)
}

// statsRow is the row of stats for container c: CPU % over the time since
// prev, or since the container started when there is no earlier sample.
func statsRow(c *quiltv1.Container, prev, cur *quiltv1.ContainerStats, noTrunc bool) []string {
	id := shortID(c.GetId())
	if noTrunc {
		id = c.GetId()
	}
	return []string{
		id, c.GetName(), cpuPercent(c, prev, cur),
		formatSize(cur.GetMemoryUsage()) + " / " + memLimit(cur.GetMemoryLimit()),
		memPercent(cur), strconv.FormatUint(cur.GetPids(), 10),
	}
}

func cpuPercent(c *quiltv1.Container, prev, cur *quiltv1.ContainerStats) string {
	used, from := cur.GetCpuUsage(), c.GetStartedAt()
	if prev != nil {
		used, from = cur.GetCpuUsage()-min(prev.GetCpuUsage(), cur.GetCpuUsage()), prev.GetReadAt()
	}
	if !from.IsValid() || !cur.GetReadAt().IsValid() {
		return "--"
	}
	wall := cur.GetReadAt().AsTime().Sub(from.AsTime())
	if wall <= 0 {
		return "--"
	}
	return strconv.FormatFloat(float64(used)/float64(wall.Nanoseconds())*100, 'f', 2, 64) + "%"
}

// unlimited is the memory limit from which on a container has none: the
// kernel reports "max" as a page-aligned huge number.
const unlimited = 1 << 62

func memLimit(limit uint64) string {
	if limit == 0 || limit >= unlimited {
		return "unlimited"
	}
	return formatSize(limit)
}

func memPercent(st *quiltv1.ContainerStats) string {
	limit := st.GetMemoryLimit()
	if limit == 0 || limit >= unlimited {
		return "--"
	}
	return strconv.FormatFloat(float64(st.GetMemoryUsage())/float64(limit)*100, 'f', 2, 64) + "%"
}
