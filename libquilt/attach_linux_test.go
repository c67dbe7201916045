package libquilt

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSignalsCaughtOnceReady checks that the background catching is in
// place once wait returns: a signal whose default action ends the process
// is caught, not fatal. Stopping twice is harmless.
func TestSignalsCaughtOnceReady(t *testing.T) {
	s, err := catchSignals()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { <-s.stop() })
	s.wait()
	if err := unix.Kill(os.Getpid(), unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	for done := false; !done; {
		select {
		case sig := <-s.c:
			done = sig == unix.SIGUSR2
		case <-timeout:
			t.Fatal("SIGUSR2 not delivered to the channel")
		}
	}
	done := s.stop()
	if again := s.stop(); again != done {
		t.Error("a second stop returned another channel")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the catching did not stop")
	}
}
