package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestStatsRow(t *testing.T) {
	start := time.Date(2026, 11, 28, 13, 50, 0, 0, time.UTC)
	at := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(start.Add(d)) }
	c := &quiltv1.Container{Id: strings.Repeat("c", 64), Name: "web", StartedAt: at(0)}
	for _, tc := range []struct {
		name      string
		c         *quiltv1.Container
		prev, cur *quiltv1.ContainerStats
		want      string
	}{
		{
			name: "first sample: since the start",
			c:    c,
			cur:  &quiltv1.ContainerStats{CpuUsage: uint64(5 * time.Second), MemoryUsage: 64 << 20, MemoryLimit: 256 << 20, Pids: 3, ReadAt: at(10 * time.Second)},
			want: "cccccccccccc|web|50.00%|64MiB / 256MiB|25.00%|3",
		},
		{
			name: "later sample: since the one before",
			c:    c,
			prev: &quiltv1.ContainerStats{CpuUsage: uint64(5 * time.Second), ReadAt: at(10 * time.Second)},
			cur:  &quiltv1.ContainerStats{CpuUsage: uint64(7 * time.Second), MemoryUsage: 1 << 20, ReadAt: at(11 * time.Second)},
			want: "cccccccccccc|web|200.00%|1MiB / unlimited|--|0",
		},
		{
			name: "no limit: the kernel's max",
			c:    c,
			cur:  &quiltv1.ContainerStats{MemoryUsage: 1 << 20, MemoryLimit: 1<<63 - 4096, ReadAt: at(time.Second)},
			want: "cccccccccccc|web|0.00%|1MiB / unlimited|--|0",
		},
		{
			name: "no start time",
			c:    &quiltv1.Container{Id: "x", Name: "new"},
			cur:  &quiltv1.ContainerStats{ReadAt: at(time.Second)},
			want: "x|new|--|0B / unlimited|--|0",
		},
		{
			name: "a counter that went back",
			c:    c,
			prev: &quiltv1.ContainerStats{CpuUsage: 100, ReadAt: at(time.Second)},
			cur:  &quiltv1.ContainerStats{CpuUsage: 50, ReadAt: at(2 * time.Second)},
			want: "cccccccccccc|web|0.00%|0B / unlimited|--|0",
		},
	} {
		if got := strings.Join(statsRow(tc.c, tc.prev, tc.cur, false), "|"); got != tc.want {
			t.Errorf("%s: row %q, want %q", tc.name, got, tc.want)
		}
	}
}
