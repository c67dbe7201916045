package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// ago writes how long ago t was: "5 seconds ago", "About an hour ago";
// nothing when t is unset.
func ago(t *timestamppb.Timestamp, now time.Time) string {
	if !t.IsValid() || t.AsTime().IsZero() {
		return ""
	}
	return units.HumanDuration(now.Sub(t.AsTime())) + " ago"
}

// since writes the time from t to now: "3 seconds", "About a minute".
func since(t *timestamppb.Timestamp, now time.Time) string {
	if !t.IsValid() || t.AsTime().IsZero() {
		return "Less than a second"
	}
	return units.HumanDuration(now.Sub(t.AsTime()))
}

// containerStatus is ps's STATUS column, as docker writes it: "Created",
// "Up 3 seconds", "Up 2 minutes (Paused)", "Exited (0) 2 minutes ago".
func containerStatus(c *quiltv1.Container, now time.Time) string {
	switch c.GetStatus() {
	case quiltv1.Status_STATUS_CREATED:
		return "Created"
	case quiltv1.Status_STATUS_RUNNING:
		return "Up " + since(c.GetStartedAt(), now)
	case quiltv1.Status_STATUS_PAUSED:
		return "Up " + since(c.GetStartedAt(), now) + " (Paused)"
	case quiltv1.Status_STATUS_EXITED:
		s := fmt.Sprintf("Exited (%d)", c.GetExitCode())
		if c.GetOomKilled() {
			s += " (OOM)"
		}
		if a := ago(c.GetFinishedAt(), now); a != "" {
			s += " " + a
		}
		return s
	}
	return "Unknown"
}

// statusNames are the words of ps --filter status=.
var statusNames = map[string]quiltv1.Status{
	"created": quiltv1.Status_STATUS_CREATED,
	"running": quiltv1.Status_STATUS_RUNNING,
	"paused":  quiltv1.Status_STATUS_PAUSED,
	"exited":  quiltv1.Status_STATUS_EXITED,
}

// parseSince reads logs --since: a duration back from now ("10m",
// "1h30m"), an RFC 3339 time ("2026-11-28T13:50:00Z"), a local date and
// time ("2026-11-28T13:50:00", "2026-11-28") or Unix seconds
// ("1764337800", "1764337800.5").
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, errInvalidTime
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < math.MaxInt64/2 && !strings.ContainsAny(s, "eEnNxX") {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
	}
	return time.Time{}, errInvalidTime
}
