package main

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestContainerStatus(t *testing.T) {
	now := time.Date(2026, 11, 28, 13, 50, 0, 0, time.UTC)
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(now.Add(-d)) }
	for _, tc := range []struct {
		c    *quiltv1.Container
		want string
	}{
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_CREATED}, "Created"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_RUNNING, StartedAt: ts(3 * time.Second)}, "Up 3 seconds"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_RUNNING, StartedAt: ts(time.Second)}, "Up 1 second"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_RUNNING, StartedAt: ts(200 * time.Millisecond)}, "Up Less than a second"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_RUNNING}, "Up Less than a second"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_RUNNING, StartedAt: ts(70 * time.Second)}, "Up About a minute"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_RUNNING, StartedAt: ts(65 * time.Minute)}, "Up About an hour"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_RUNNING, StartedAt: ts(50 * time.Hour)}, "Up 2 days"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_PAUSED, StartedAt: ts(3 * time.Minute)}, "Up 3 minutes (Paused)"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_EXITED, FinishedAt: ts(2 * time.Minute)}, "Exited (0) 2 minutes ago"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_EXITED, ExitCode: 137, OomKilled: true, FinishedAt: ts(5 * time.Second)}, "Exited (137) (OOM) 5 seconds ago"},
		{&quiltv1.Container{Status: quiltv1.Status_STATUS_EXITED, ExitCode: 1}, "Exited (1)"},
		{&quiltv1.Container{}, "Unknown"},
	} {
		if got := containerStatus(tc.c, now); got != tc.want {
			t.Errorf("containerStatus(%v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 11, 28, 13, 50, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    *timestamppb.Timestamp
		want string
	}{
		{timestamppb.New(now.Add(-5 * time.Second)), "5 seconds ago"},
		{timestamppb.New(now.Add(-3 * 7 * 24 * time.Hour)), "3 weeks ago"},
		{nil, ""},
		{timestamppb.New(time.Time{}), ""},
	} {
		if got := ago(tc.t, now); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 28, 13, 50, 0, 0, time.UTC)
	local := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.Local)
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		err  error
	}{
		{"10m", now.Add(-10 * time.Minute), nil},
		{"1h30m", now.Add(-90 * time.Minute), nil},
		{"0s", now, nil},
		{"2026-11-28T13:00:00Z", time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC), nil},
		{"2026-11-28T13:00:00.5+01:00", time.Date(2026, 11, 28, 12, 0, 0, 5e8, time.UTC), nil},
		{"2026-11-28T13:00:00", local(2026, 11, 28, 13, 0, 0), nil},
		{"2026-11-28T13:00", local(2026, 11, 28, 13, 0, 0), nil},
		{"2026-11-28", local(2026, 11, 28, 0, 0, 0), nil},
		{"1764337800", time.Unix(1764337800, 0), nil},
		{"1764337800.25", time.Unix(1764337800, 25e7), nil},
		{"-10m", time.Time{}, errInvalidTime},
		{"-5", time.Time{}, errInvalidTime},
		{"yesterday", time.Time{}, errInvalidTime},
		{"", time.Time{}, errInvalidTime},
		{"1e9", time.Time{}, errInvalidTime},
		{"NaN", time.Time{}, errInvalidTime},
		{"0x10", time.Time{}, errInvalidTime},
		{"2026-13-01", time.Time{}, errInvalidTime},
	} {
		got, err := parseSince(tc.in, now)
		if !got.Equal(tc.want) || !errors.Is(err, tc.err) {
			t.Errorf("parseSince(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
