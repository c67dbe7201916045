package image

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// The phases of an import, in the order Progress reports them.
const (
	PhaseReading   = "reading"
	PhaseUnpacking = "unpacking"
	PhaseDone      = "done"
)

// Progress is what ImportOptions.Progress is told while Import runs.
type Progress struct {
	// Phase is PhaseReading while the image's metadata is read (and a
	// rootfs tarball hashed), PhaseUnpacking while layers go into the
	// store, and PhaseDone once, last, when the image is stored.
	Phase string
	// Layer is the layer being unpacked, 1 for the bottom one; Layers is
	// how many the image has. Both are 0 while reading; in PhaseDone
	// Layer is Layers.
	Layer, Layers int
	// Bytes is how much of the layer's blob, as the image stores it
	// (compressed), was read so far; Total is the blob's size, 0 when the
	// image does not say (docker-save archives). While reading a rootfs
	// tarball they count its hashing. A layer found in the store is
	// reported once with Bytes = Total. In PhaseDone they sum all layers.
	Bytes, Total int64
}

// progressInterval is the least time between two reports of one blob
// being read; the end of each layer is reported whatever the time.
const progressInterval = 100 * time.Millisecond

// meter reports the progress of one import. Reports are made one at a
// time, from whichever goroutine unpacks a layer. A nil meter reports
// nothing.
type meter struct {
	fn     func(Progress)
	now    func() time.Time
	layers int
	mu     sync.Mutex
	// bytes and total sum the layers reported done.
	bytes, total int64
}

func newMeter(fn func(Progress)) *meter {
	if fn == nil {
		return nil
	}
	return &meter{fn: fn, now: time.Now}
}

// setLayers sets how many layers the image has, once it is known.
func (m *meter) setLayers(n int) {
	if m != nil {
		m.layers = n
	}
}

func (m *meter) report(p Progress) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fn(p)
}

// layerDone reports that layer i (from 0) is in the store, after read
// bytes of its blob were read (0 when it was there already).
func (m *meter) layerDone(i int, b blob, read int64) {
	if m == nil {
		return
	}
	total := max(b.size, 0)
	if read == 0 {
		read = total
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bytes += read
	m.total += total
	m.fn(Progress{Phase: PhaseUnpacking, Layer: i + 1, Layers: m.layers, Bytes: read, Total: total})
}

func (m *meter) done() {
	if m == nil {
		return
	}
	m.report(Progress{Phase: PhaseDone, Layer: m.layers, Layers: m.layers, Bytes: m.bytes, Total: m.total})
}

// watch returns open wrapped so that what is read from the stream it
// opens is reported as p (its Bytes counted), at most every
// progressInterval, and stored in read.
func (m *meter) watch(open func() (io.ReadCloser, error), p Progress, read *atomic.Int64) func() (io.ReadCloser, error) {
	if m == nil {
		return open
	}
	return func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, err
		}
		read.Store(0)
		return &meterReader{ReadCloser: rc, m: m, p: p, read: read}, nil
	}
}

// watchLayer returns layer i of an image with its blob's reads reported,
// and the counter of the bytes read.
func (m *meter) watchLayer(b blob, i int) (blob, *atomic.Int64) {
	read := new(atomic.Int64)
	p := Progress{Phase: PhaseUnpacking, Layer: i + 1, Layers: m.layerCount(), Total: max(b.size, 0)}
	b.open = m.watch(b.open, p, read)
	return b, read
}

func (m *meter) layerCount() int {
	if m == nil {
		return 0
	}
	return m.layers
}

// meterReader counts what is read through it and reports it.
type meterReader struct {
	io.ReadCloser
	m    *meter
	p    Progress
	read *atomic.Int64
	last time.Time
}

func (r *meterReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.p.Bytes += int64(n)
	r.read.Store(r.p.Bytes)
	if now := r.m.now(); now.Sub(r.last) >= progressInterval {
		r.last = now
		r.m.report(r.p)
	}
	return n, err
}
