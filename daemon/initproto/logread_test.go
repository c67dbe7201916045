package initproto

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParseRecord(t *testing.T) {
	ts := time.Date(2026, 11, 28, 13, 50, 0, 123456789, time.UTC)
	cases := []struct {
		line    string
		want    Entry
		wantErr string // substring; "" for success
	}{
		{line: "2026-11-28T13:50:00.123456789Z stdout F hello", want: Entry{Stream: Stdout, Time: ts, Data: []byte("hello\n")}},
		{line: "2026-11-28T13:50:00.123456789Z stderr P hel", want: Entry{Stream: Stderr, Time: ts, Data: []byte("hel"), Partial: true}},
		{line: "2026-11-28T13:50:00.123456789Z stdout F ", want: Entry{Stream: Stdout, Time: ts, Data: []byte("\n")}},
		{line: "2026-11-28T13:50:00.123456789Z stdout F", want: Entry{Stream: Stdout, Time: ts, Data: []byte("\n")}},
		{line: "2026-11-28T13:50:00.123456789Z stdout P ", want: Entry{Stream: Stdout, Time: ts, Data: []byte{}, Partial: true}},
		{line: "2026-11-28T13:50:00.123456789Z stdout F  two  spaces ", want: Entry{Stream: Stdout, Time: ts, Data: []byte(" two  spaces \n")}},
		// kubelet trims trailing zeros of the fraction; the zone may be an offset.
		{line: "2026-11-28T14:50:00.1234567+01:00 stdout F x", want: Entry{Stream: Stdout, Time: ts.Add(-89), Data: []byte("x\n")}},
		{line: "", wantErr: "no stream"},
		{line: "2026-11-28T13:50:00Z", wantErr: "no stream"},
		{line: "yesterday stdout F x", wantErr: `time "yesterday"`},
		{line: "2026-11-28T13:50:00Z stdin F x", wantErr: `stream "stdin"`},
		{line: "2026-11-28T13:50:00Z stdout", wantErr: "no tag"},
		{line: "2026-11-28T13:50:00Z stdout X x", wantErr: `tag "X"`},
		{line: "2026-11-28T13:50:00Z stdout FP x", wantErr: `tag "FP"`},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			e, err := ParseRecord([]byte(tc.line))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrMalformed with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Stream != tc.want.Stream || !e.Time.Equal(tc.want.Time) || !bytes.Equal(e.Data, tc.want.Data) || e.Data == nil || e.Partial != tc.want.Partial {
				t.Errorf("got %+v (data %q), want %+v (data %q)", e, e.Data, tc.want, tc.want.Data)
			}
		})
	}
}

func TestReadLog(t *testing.T) {
	const ok1 = "2026-11-28T13:50:00.000000001Z stdout F one\n"
	const ok2 = "2026-11-28T13:50:00.000000002Z stderr P tw"
	const ok3 = "2026-11-28T13:50:00.000000003Z stderr F o\n"
	cases := []struct {
		name    string
		in      string
		want    string // the entries' data, joined
		wantErr string
	}{
		{"empty", "", "", ""},
		{"records", ok1 + ok2 + "\n" + ok3, "one\ntwo\n", ""},
		{"unterminated last line left out", ok1 + ok2, "one\n", ""},
		{"malformed third line", ok1 + ok2 + "\n" + "garbage\n" + ok3, "one\ntw", "log line 3: malformed"},
		{"malformed first line", "\n" + ok1, "", "log line 1: malformed"},
	}
	for _, tc := range cases {
		for _, reader := range []string{"whole", "one byte at a time"} {
			t.Run(tc.name+"/"+reader, func(t *testing.T) {
				r := strings.NewReader(tc.in)
				var got []byte
				var err error
				if reader == "whole" {
					err = ReadLog(r, func(e Entry) error { got = append(got, e.Data...); return nil })
				} else {
					err = ReadLog(iotest.OneByteReader(r), func(e Entry) error { got = append(got, e.Data...); return nil })
				}
				if string(got) != tc.want {
					t.Errorf("data %q, want %q", got, tc.want)
				}
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("err = %v", err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrMalformed)):
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
			})
		}
	}
}

func TestReadLogStopsOnCallbackError(t *testing.T) {
	in := strings.Repeat("2026-11-28T13:50:00Z stdout F x\n", 5)
	stop := errors.New("stop")
	n := 0
	err := ReadLog(strings.NewReader(in), func(Entry) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("err = %v after %d records, want stop after 2", err, n)
	}
}

func TestReadLogLineTooLong(t *testing.T) {
	in := "2026-11-28T13:50:00Z stdout F " + strings.Repeat("x", maxLine) + "\n"
	err := ReadLog(strings.NewReader(in), func(Entry) error { return nil })
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "log line 1") {
		t.Errorf("err = %v, want a malformed line 1", err)
	}
}

// writeRecords writes n records, numbered from 0, to a new log file.
func writeRecords(t *testing.T, n int, extra string) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := range n {
		// Records of different lengths, so that block edges fall
		// everywhere.
		fmt.Fprintf(&b, "2026-11-28T13:50:00.%09dZ stdout F %d%s\n", i, i, strings.Repeat("y", i%37))
	}
	b.WriteString(extra)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestTail(t *testing.T) {
	cases := []struct {
		records, n int
		extra      string // appended after the records
		want       int    // number of the first record read from the offset; -1: none
	}{
		{records: 0, n: 5, want: -1},
		{records: 10, n: 3, want: 7},
		{records: 10, n: 10, want: 0},
		{records: 10, n: 11, want: 0},
		{records: 10, n: 1, want: 9},
		{records: 10, n: 0, want: -1},
		{records: 10, n: -1, want: -1},
		{records: 500, n: 123, want: 377},
		{records: 10, n: 3, extra: "2026-11-28T13:50:00Z stdout F unterminated", want: 7},
		{records: 1, n: 1, want: 0},
	}
	defer func(b int) { tailBlock = b }(tailBlock)
	for _, block := range []int{1, 7, 64, 32 << 10} {
		tailBlock = block
		for _, tc := range cases {
			t.Run(fmt.Sprintf("block%d/%d-of-%d", block, tc.n, tc.records), func(t *testing.T) {
				f := writeRecords(t, tc.records, tc.extra)
				off, err := Tail(f, tc.n)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Seek(off, 0); err != nil {
					t.Fatal(err)
				}
				first, count := -1, 0
				err = ReadLog(f, func(e Entry) error {
					if first < 0 {
						first = e.Time.Nanosecond()
					}
					count++
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if first != tc.want {
					t.Errorf("first record %d, want %d (offset %d)", first, tc.want, off)
				}
				if tc.want >= 0 && count != tc.records-tc.want {
					t.Errorf("%d records after the offset, want %d", count, tc.records-tc.want)
				}
			})
		}
	}
}

// TestTailReadsBackwards checks that Tail reads a few blocks of a large
// log, not all of it.
func TestTailReadsBackwards(t *testing.T) {
	f := writeRecords(t, 50000, "")
	fi, _ := f.Stat()
	before := readBytes(t)
	if _, err := Tail(f, 10); err != nil {
		t.Fatal(err)
	}
	if read := readBytes(t) - before; read > int64(2*tailBlock) {
		t.Errorf("Tail read %d bytes of a %d-byte log", read, fi.Size())
	}
}

// readBytes returns how many bytes this process has read with read(2)
// and pread(2), from /proc/self/io.
func readBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip(err)
	}
	var rchar int64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			fmt.Sscan(v, &rchar)
		}
	}
	return rchar
}

// FuzzParseRecord feeds arbitrary lines to the parser: it must never
// panic, must report failures as ErrMalformed, and must give back a
// record that, written again, parses the same.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"2026-11-28T13:50:00.123456789Z stdout F hello",
		"2026-11-28T13:50:00Z stderr P ",
		"2026-11-28T13:50:00+01:00 stdout F",
		"x y z",
		"",
		"2026-11-28T13:50:00Z stdout F \x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseRecord(line)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		tag, data := "F", e.Data
		if e.Partial {
			tag = "P"
		} else {
			data = data[:len(data)-1]
		}
		again := e.Time.Format(time.RFC3339Nano) + " " + e.Stream.String() + " " + tag + " " + string(data)
		e2, err := ParseRecord([]byte(again))
		if err != nil || !e2.Time.Equal(e.Time) || e2.Stream != e.Stream || e2.Partial != e.Partial || !bytes.Equal(e2.Data, e.Data) {
			t.Fatalf("%q parsed as %+v, written as %q, parsed again as %+v, %v", line, e, again, e2, err)
		}
	})
}

// FuzzReadLog checks that a malformed log never panics and that errors
// name a line.
func FuzzReadLog(f *testing.F) {
	f.Add([]byte("2026-11-28T13:50:00Z stdout F a\n2026-11-28T13:50:00Z stderr P b\n"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("2026-11-28T13:50:00Z stdout F a\nbad\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		n := 0
		err := ReadLog(bytes.NewReader(in), func(Entry) error { n++; return nil })
		if err != nil && (!errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "log line ")) {
			t.Fatalf("error %v", err)
		}
		if n > bytes.Count(in, []byte("\n")) {
			t.Fatalf("%d records from %d lines", n, bytes.Count(in, []byte("\n")))
		}
	})
}
