package initproto

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// openLog creates an empty log file opened as quilt-init gets it.
func openLog(t *testing.T) (*os.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

func TestLogWriter(t *testing.T) {
	full := strings.Repeat("m", MaxRecord)
	type rec struct{ tag, data string }
	cases := []struct {
		name   string
		writes []string
		flush  bool
		want   []rec
	}{
		{"lines", []string{"a\nb\n"}, false, []rec{{"F", "a"}, {"F", "b"}}},
		{"line split across writes", []string{"ab", "c\nd"}, true, []rec{{"F", "abc"}, {"P", "d"}}},
		{"empty lines", []string{"\n\n"}, false, []rec{{"F", ""}, {"F", ""}}},
		{"unfinished line kept", []string{"abc"}, false, nil},
		{"flush without pending", []string{"a\n"}, true, []rec{{"F", "a"}}},
		{"MaxRecord bytes and newline", []string{full + "\n"}, false, []rec{{"F", full}}},
		{"MaxRecord bytes, newline later", []string{full, "\n"}, false, []rec{{"F", full}}},
		{"one byte too long", []string{full + "x\n"}, false, []rec{{"P", full}, {"F", "x"}}},
		{"two pieces and a rest", []string{full + full + "tail"}, true, []rec{{"P", full}, {"P", full}, {"P", "tail"}}},
		{"long line in small writes", chunks(full+"yz\n", 1000), false, []rec{{"P", full}, {"F", "yz"}}},
		{"carriage return and tabs kept", []string{"a\r\tb\n"}, false, []rec{{"F", "a\r\tb"}}},
	}
	clock := time.Date(2026, 11, 28, 13, 50, 0, 123456789, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, path := openLog(t)
			w := NewLogWriter(f, Stderr)
			w.now = func() time.Time { return clock }
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if tc.flush {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			var want strings.Builder
			for _, r := range tc.want {
				want.WriteString("2026-11-28T13:50:00.123456789Z stderr " + r.tag + " " + r.data + "\n")
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want.String() {
				t.Errorf("log:\n%.300q\nwant:\n%.300q", got, want.String())
			}
		})
	}
}

func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// TestLogWriterTimeWidth checks that the header has the same length
// whatever the time, so that records can be parsed by position too.
func TestLogWriterTimeWidth(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 100, time.FixedZone("x", 3600)),
	} {
		f, path := openLog(t)
		w := NewLogWriter(f, Stdout)
		w.now = func() time.Time { return ts }
		w.Write([]byte("x\n"))
		got, _ := os.ReadFile(path)
		if len(got) != headerLen+2 {
			t.Errorf("%v: record %q is %d bytes, want %d", ts, got, len(got), headerLen+2)
		}
		e, err := ParseRecord(bytes.TrimSuffix(got, []byte("\n")))
		if err != nil || !e.Time.Equal(ts) {
			t.Errorf("%v: parsed %v, %v", ts, e.Time, err)
		}
	}
}

// TestLogWritersInterleave writes from two streams at once into one file:
// every record must come out whole and each stream in order.
func TestLogWritersInterleave(t *testing.T) {
	f, path := openLog(t)
	const lines = 2000
	var wg sync.WaitGroup
	for _, s := range []Stream{Stdout, Stderr} {
		w := NewLogWriter(f, s)
		wg.Go(func() {
			for i := range lines {
				// Lines of varying length, some cut into pieces.
				line := s.String() + strconv.Itoa(i) + strings.Repeat(".", (i*97)%(MaxRecord+500)) + "\n"
				w.Write([]byte(line))
			}
		})
	}
	wg.Wait()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	next := map[Stream]int{}
	pending := map[Stream][]byte{}
	err = ReadLog(r, func(e Entry) error {
		pending[e.Stream] = append(pending[e.Stream], e.Data...)
		if e.Partial {
			return nil
		}
		i := next[e.Stream]
		want := e.Stream.String() + strconv.Itoa(i) + strings.Repeat(".", (i*97)%(MaxRecord+500)) + "\n"
		if string(pending[e.Stream]) != want {
			t.Fatalf("%s line %d: got %.60q..., want %.60q...", e.Stream, i, pending[e.Stream], want)
		}
		pending[e.Stream] = pending[e.Stream][:0]
		next[e.Stream]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next[Stdout] != lines || next[Stderr] != lines {
		t.Errorf("read %v lines, want %d each", next, lines)
	}
}
