package image

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// TestMeterThrottle reads a blob through a meter whose clock moves step
// a read: reports come at most every progressInterval, count up, and the
// end of the layer is reported with every byte.
func TestMeterThrottle(t *testing.T) {
	for _, c := range []struct {
		name  string
		step  time.Duration
		reads int
	}{
		{"fast reads", time.Millisecond, 1000},
		{"slow reads", 30 * time.Millisecond, 100},
		{"reads slower than the interval", 2 * progressInterval, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []Progress
			var when []time.Time
			clock := time.Unix(1000, 0)
			m := newMeter(func(p Progress) { got = append(got, p); when = append(when, clock) })
			m.now = func() time.Time { clock = clock.Add(c.step); return clock }
			m.layers = 1
			data := make([]byte, c.reads*512)
			b := blob{size: int64(len(data)), open: func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(data)), nil
			}}
			watched, read := m.watchLayer(b, 0)
			rc, err := watched.open()
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 512)
			for range c.reads {
				if _, err := io.ReadFull(rc, buf); err != nil {
					t.Fatal(err)
				}
			}
			m.layerDone(0, b, read.Load())
			m.done()

			elapsed := time.Duration(c.reads) * c.step
			if max := int(elapsed/progressInterval) + 1 + 2; len(got) > max || len(got) < 3 {
				t.Errorf("%d reports over %v, want 3 to %d", len(got), elapsed, max)
			}
			reading := got[:len(got)-2]
			for i, p := range reading {
				if p.Phase != PhaseUnpacking || p.Layer != 1 || p.Layers != 1 || p.Total != int64(len(data)) {
					t.Errorf("report %+v", p)
				}
				if i > 0 && (when[i].Sub(when[i-1]) < progressInterval || p.Bytes <= reading[i-1].Bytes) {
					t.Errorf("report %d %+v at %v comes too soon after %+v at %v", i, p, when[i], reading[i-1], when[i-1])
				}
			}
			end, done := got[len(got)-2], got[len(got)-1]
			if end.Bytes != int64(len(data)) || end.Phase != PhaseUnpacking {
				t.Errorf("end of layer %+v", end)
			}
			if done != (Progress{Phase: PhaseDone, Layer: 1, Layers: 1, Bytes: int64(len(data)), Total: int64(len(data))}) {
				t.Errorf("done %+v", done)
			}
		})
	}
}

// TestMeterNil checks that a nil meter (no Progress) leaves blobs alone.
func TestMeterNil(t *testing.T) {
	var m *meter
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(nil)), nil }
	b, _ := m.watchLayer(blob{open: open}, 0)
	rc, err := b.open()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rc.(*meterReader); ok {
		t.Error("a nil meter wraps the stream")
	}
	m.report(Progress{})
	m.layerDone(0, b, 0)
	m.done()
}
