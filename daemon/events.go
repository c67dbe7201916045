package daemon

import (
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/libquilt/image"
)

// broker hands every event to the current subscribers. A subscriber that
// does not keep up loses its subscription rather than slowing the daemon.
type broker struct {
	mu     sync.Mutex
	subs   map[chan *quiltv1.Event]struct{}
	closed bool
}

func newBroker() *broker { return &broker{subs: map[chan *quiltv1.Event]struct{}{}} }

// subscribe returns a channel of events and a function that ends the
// subscription. The channel is closed when the subscriber falls behind by
// more than 256 events or the daemon closes.
func (b *broker) subscribe() (<-chan *quiltv1.Event, func()) {
	ch := make(chan *quiltv1.Event, 256)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return ch, func() {}
	}
	b.subs[ch] = struct{}{}
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *broker) publish(e *quiltv1.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

// event describes the container for an event of type typ; c.mu is held or
// the fields read are settled.
func (c *ctr) event(typ string) *quiltv1.Event {
	e := &quiltv1.Event{Type: typ, Id: c.rec.ID, Name: c.rec.Name, Time: timestamppb.Now(),
		Attributes: map[string]string{"image": c.rec.Image}}
	if typ == "exit" {
		e.ExitCode = int32(c.rec.ExitCode)
	}
	return e
}

func imageEvent(typ string, img *image.Stored) *quiltv1.Event {
	e := &quiltv1.Event{Type: typ, Id: img.ID, Time: timestamppb.New(time.Now())}
	if len(img.Names) > 0 {
		e.Name = img.Names[0]
	}
	return e
}

// Events streams events matching the filter until ctx ends; send returning
// an error ends it too.
func (d *Daemon) Events(ctx interface{ Done() <-chan struct{} }, req *quiltv1.EventsRequest, send func(*quiltv1.Event) error) error {
	ch, cancel := d.events.subscribe()
	defer cancel()
	types := map[string]bool{}
	for _, t := range req.Types {
		types[t] = true
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-ch:
			if !ok {
				return errorf(ErrResource, "the event stream fell behind and was dropped")
			}
			if req.Id != "" && e.Id != req.Id && e.Name != req.Id && !hasPrefix(e.Id, req.Id) {
				continue
			}
			if len(types) > 0 && !types[e.Type] {
				continue
			}
			if err := send(e); err != nil {
				return err
			}
		}
	}
}

func hasPrefix(id, p string) bool { return len(p) >= 4 && len(id) >= len(p) && id[:len(p)] == p }
