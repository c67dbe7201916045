package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// orderedWriter records which stream each write went to, to check that the
// printer keeps stdout and stderr in order.
type orderedWriter struct {
	name string
	log  *[]string
}

func (w orderedWriter) Write(p []byte) (int, error) {
	*w.log = append(*w.log, w.name+":"+string(p))
	return len(p), nil
}

func TestLogPrinter(t *testing.T) {
	at := func(s int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 11, 28, 13, 50, s, 0, time.FixedZone("CET", 3600)))
	}
	out, errs := quiltv1.Stream_STREAM_STDOUT, quiltv1.Stream_STREAM_STDERR
	entries := []*quiltv1.LogEntry{
		{Stream: out, Time: at(0), Data: []byte("a\n")},
		{Stream: out, Time: at(1), Data: []byte("b1"), Partial: true},
		{Stream: errs, Time: at(2), Data: []byte("e\n")},
		{Stream: out, Time: at(3), Data: []byte("b2\n")},
		{Stream: quiltv1.Stream_STREAM_UNSPECIFIED, Time: at(4), Data: []byte("c\n")},
	}
	for _, tc := range []struct {
		timestamps bool
		want       []string
	}{
		{false, []string{"out:a\nb1", "err:e\n", "out:b2\nc\n"}},
		{true, []string{
			"out:2026-11-28T12:50:00.000000000Z a\n2026-11-28T12:50:01.000000000Z b1",
			"err:2026-11-28T12:50:02.000000000Z e\n",
			"out:b2\n2026-11-28T12:50:04.000000000Z c\n",
		}},
	} {
		var log []string
		p := newLogPrinter(orderedWriter{"out", &log}, orderedWriter{"err", &log}, tc.timestamps)
		for _, e := range entries {
			if err := p.print(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.flush(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(log, "|") != strings.Join(tc.want, "|") {
			t.Errorf("timestamps %v: writes %q, want %q", tc.timestamps, log, tc.want)
		}
	}
}

func TestEventLine(t *testing.T) {
	e := &quiltv1.Event{Type: "import", Id: "sha256:abc", Time: timestamppb.New(time.Date(2026, 11, 28, 13, 50, 0, 42, time.UTC)), Attributes: map[string]string{"z": "1", "a": "2"}}
	if got, want := eventLine(e), "2026-11-28T13:50:00.000000042Z import sha256:abc (a=2, z=1)"; got != want {
		t.Errorf("eventLine = %q, want %q", got, want)
	}
}
