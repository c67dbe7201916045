package initproto

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestFollow(t *testing.T) {
	for _, mode := range []string{"inotify", "poll"} {
		t.Run(mode, func(t *testing.T) {
			// Only inotify, or only polling, can wake Follow up in time.
			defer func(p, n time.Duration, no bool) { followPoll, followSafetyNet, noInotify = p, n, no }(followPoll, followSafetyNet, noInotify)
			followPoll, followSafetyNet, noInotify = time.Hour, time.Hour, false
			if mode == "poll" {
				followPoll, noInotify = 20*time.Millisecond, true
			}
			w, path := openLog(t)
			lw := NewLogWriter(w, Stdout)
			lw.Write([]byte("before\n"))
			r, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			done := make(chan struct{})
			got := make(chan string, 100)
			errc := make(chan error, 1)
			go func() {
				errc <- Follow(context.Background(), r, done, func(e Entry) error {
					got <- string(e.Data)
					return nil
				})
			}()
			expect := func(want string) {
				t.Helper()
				select {
				case s := <-got:
					if s != want {
						t.Fatalf("got %q, want %q", s, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no record %q", want)
				}
			}
			expect("before\n")
			for i := range 3 {
				lw.Write([]byte("line" + strconv.Itoa(i) + "\n"))
				expect("line" + strconv.Itoa(i) + "\n")
			}
			// A record written half, then finished, comes once whole.
			w.Write([]byte("2026-11-28T13:50:00Z stdout F ha"))
			time.Sleep(50 * time.Millisecond)
			w.Write([]byte("lf\n"))
			expect("half\n")
			// What is written before done closes is all delivered.
			lw.Write([]byte("last\n"))
			close(done)
			expect("last\n")
			if err := <-errc; err != nil {
				t.Fatalf("Follow = %v", err)
			}
		})
	}
}

func TestFollowStops(t *testing.T) {
	w, path := openLog(t)
	NewLogWriter(w, Stdout).Write([]byte("x\n"))
	cases := []struct {
		name string
		run  func(r *os.File) error
		want error
	}{
		{"cancelled", func(r *os.File) error {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return Follow(ctx, r, nil, func(Entry) error { return nil })
		}, context.Canceled},
		{"done", func(r *os.File) error {
			done := make(chan struct{})
			close(done)
			return Follow(context.Background(), r, done, func(Entry) error { return nil })
		}, nil},
		{"callback error", func(r *os.File) error {
			return Follow(context.Background(), r, nil, func(Entry) error { return errStop })
		}, errStop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := tc.run(r); !errors.Is(err, tc.want) {
				t.Errorf("Follow = %v, want %v", err, tc.want)
			}
		})
	}
}

var errStop = errors.New("stop")
