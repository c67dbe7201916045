// Command unpack measures how fast Quilt turns an image into a bundle,
// beside umoci.
//
// It generates an OCI image layout of about -size MB across -layers
// gzip-compressed layers (busybox plus files of random content), then
// times:
//
//   - cold: image.Unpack into an empty store (overlay rootfs), and with
//     Copy (a plain directory), against `umoci unpack --image DIR:TAG`
//     (a plain directory too), each -cold times, the median reported;
//   - warm: image.Unpack of the same image from a populated store, -warm
//     times, the median and 90th percentile reported. Each warm bundle is
//     removed after its timing, unless -keep keeps them all mounted.
//
// It needs root (overlay mounts; umoci as root keeps owners) and writes
// under -dir. Run it with `go run ./bench/unpack` (flags below).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/quilt-runtime/quilt/libquilt/image"
)

func main() {
	size := flag.Int("size", 100, "total size of the image's files, in MB")
	layers := flag.Int("layers", 5, "number of layers")
	cold := flag.Int("cold", 3, "cold unpacks per tool")
	warm := flag.Int("warm", 50, "warm bundles from the store")
	dir := flag.String("dir", os.TempDir(), "directory to work in")
	umoci := flag.String("umoci", "umoci", "umoci binary; empty to skip")
	keep := flag.Bool("keep", false, "keep the warm bundles mounted until the end instead of removing each after its timing")
	flag.Parse()
	if os.Geteuid() != 0 {
		log.Fatal("bench: needs root (overlay mounts)")
	}
	work, err := os.MkdirTemp(*dir, "quilt-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)

	layout := filepath.Join(work, "layout")
	start := time.Now()
	n, err := generate(layout, "bench", *size<<20, *layers)
	if err != nil {
		log.Fatalf("generate image: %v", err)
	}
	fmt.Printf("image: %d layers, %d files, %.1f MB, generated in %v\n", *layers, n.files, float64(n.bytes)/(1<<20), time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	// The cold runs of the tools take turns, so that a change in the
	// machine's load falls on all of them.
	var quiltCold, quiltCopy, umociCold []time.Duration
	for i := range *cold {
		quiltCold = append(quiltCold, timed(func() func() {
			root := filepath.Join(work, fmt.Sprintf("store-%d", i))
			bundle := filepath.Join(work, fmt.Sprintf("cold-%d", i))
			if _, err := image.Unpack(ctx, image.Options{Image: layout, Bundle: bundle, Root: root}); err != nil {
				log.Fatalf("quilt cold: %v", err)
			}
			return func() { image.Remove(bundle); os.RemoveAll(root) }
		}))
		quiltCopy = append(quiltCopy, timed(func() func() {
			bundle := filepath.Join(work, fmt.Sprintf("copy-%d", i))
			if _, err := image.Unpack(ctx, image.Options{Image: layout, Bundle: bundle, Copy: true}); err != nil {
				log.Fatalf("quilt copy: %v", err)
			}
			return func() { os.RemoveAll(bundle) }
		}))
		if *umoci != "" {
			umociCold = append(umociCold, timed(func() func() {
				bundle := filepath.Join(work, fmt.Sprintf("umoci-%d", i))
				cmd := exec.Command(*umoci, "unpack", "--image", layout+":bench", bundle)
				if out, err := cmd.CombinedOutput(); err != nil {
					log.Fatalf("umoci unpack: %v\n%s", err, out)
				}
				return func() { os.RemoveAll(bundle) }
			}))
		}
	}
	for _, d := range [][]time.Duration{quiltCold, quiltCopy, umociCold} {
		slices.Sort(d)
	}

	root := filepath.Join(work, "store")
	first := filepath.Join(work, "first")
	if _, err := image.Unpack(ctx, image.Options{Image: layout, Bundle: first, Root: root}); err != nil {
		log.Fatalf("quilt: %v", err)
	}
	defer image.Remove(first)
	var bundles []string
	var warmRuns []time.Duration
	for i := range *warm {
		warmRuns = append(warmRuns, timed(func() func() {
			bundle := filepath.Join(work, fmt.Sprintf("warm-%d", i))
			if _, err := image.Unpack(ctx, image.Options{Image: layout, Bundle: bundle, Root: root}); err != nil {
				log.Fatalf("quilt warm: %v", err)
			}
			if *keep {
				bundles = append(bundles, bundle)
				return nil
			}
			return func() { image.Remove(bundle) }
		}))
	}
	slices.Sort(warmRuns)
	for _, b := range bundles {
		if err := image.Remove(b); err != nil {
			log.Printf("remove %s: %v", b, err)
		}
	}
	os.RemoveAll(root)

	fmt.Printf("\n%-34s %10s %10s %10s\n", "", "median", "min", "max")
	row := func(name string, d []time.Duration) {
		if len(d) > 0 {
			fmt.Printf("%-34s %10v %10v %10v\n", name, median(d), d[0], d[len(d)-1])
		}
	}
	row("quilt cold (store + overlay)", quiltCold)
	row("quilt cold (copy)", quiltCopy)
	row("umoci unpack", umociCold)
	row(fmt.Sprintf("quilt warm (store, %d bundles)", len(warmRuns)), warmRuns)
	fmt.Printf("quilt warm 90th percentile: %v\n", warmRuns[len(warmRuns)*9/10])
	if len(umociCold) > 0 {
		u := float64(median(umociCold))
		fmt.Printf("\nratio to umoci (median): store %.2fx, copy %.2fx\n", float64(median(quiltCold))/u, float64(median(quiltCopy))/u)
	}
}

// timed runs f and returns how long it took; the cleanup f returns runs
// after, outside the timing.
func timed(f func() func()) time.Duration {
	t := time.Now()
	cleanup := f()
	took := time.Since(t).Round(10 * time.Microsecond)
	if cleanup != nil {
		cleanup()
	}
	return took
}

func median(d []time.Duration) time.Duration { return d[len(d)/2] }
