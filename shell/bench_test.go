package shell

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkStartup measures `sh -c true` of the release build of quilt-sh
// (CGO_ENABLED=0, -trimpath, -ldflags '-s -w') and of busybox sh, as
// fork+exec+wait from Go. Besides ns/op it reports the median run and the
// binary's size:
//
//	go test ./shell -run '^$' -bench Startup -benchtime 200x
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	sh := filepath.Join(dir, "sh")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", sh, "github.com/quilt-runtime/quilt/cmd/quilt-sh")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	fi, err := os.Stat(sh)
	if err != nil {
		b.Fatal(err)
	}
	shells := [][]string{{sh, "-c", "true"}}
	if bb, err := exec.LookPath("busybox"); err == nil {
		shells = append(shells, []string{bb, "sh", "-c", "true"})
	}
	for _, argv := range shells {
		b.Run(filepath.Base(argv[0]), func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if err := exec.Command(argv[0], argv[1:]...).Run(); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			// After the loop: b.Loop resets the timer, which clears metrics.
			b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "median-ns")
			if argv[0] == sh {
				b.ReportMetric(float64(fi.Size()), "bytes")
			}
		})
	}
}
