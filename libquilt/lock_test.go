package libquilt

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestLockSerializes(t *testing.T) {
	root := t.TempDir()
	l, err := lockContainer(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		l2, err := lockContainer(root, "c1")
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		// Unlock before telling: the test then checks that the file is gone.
		l2.unlock(true)
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("second lock acquired while the first is held")
	case <-time.After(50 * time.Millisecond):
	}
	l.unlock(true) // removes the file: the waiter must retry on a new one
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("second lock never acquired")
	}
	if _, err := os.Stat(filepath.Join(root, lockDir, "c1")); !os.IsNotExist(err) {
		t.Fatalf("lock file left behind: %v", err)
	}
}

func TestLockManyWaiters(t *testing.T) {
	root := t.TempDir()
	var mu sync.Mutex
	inside := 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l, err := lockContainer(root, "c")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			if inside != 1 {
				t.Errorf("%d holders at once", inside)
			}
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			l.unlock(i%2 == 0)
		}(i)
	}
	wg.Wait()
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	for _, content := range []string{"one", "two"} {
		if err := writeFileAtomic(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil || string(data) != content {
			t.Fatalf("content = %q, %v; want %q", data, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
