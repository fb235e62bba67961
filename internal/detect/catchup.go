package detect

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// Catch-up of live detection (#5).
//
// Live detection takes durable events from a bounded queue. When the queue
// is full, the events that do not fit are not queued: their fingerprints
// go into a Gap instead (8 bytes an event instead of the event), and so do
// the events of every later batch until detection has taken the gap. Once
// detection has finished every batch queued before the gap, it takes the
// gap, reads exactly those events back from the store (they were durable
// before they were offered) and detects them, then goes back to the queue.
// So every stored event is examined once, in the order queue, gap, queue:
// stateful rules see the gap's events after the ones queued before them
// and before the ones queued after them.
//
// An event is known in the store by its fingerprint: a hash of its event
// time, receive time and raw text. Events whose three are equal are
// interchangeable (only their metadata could differ), and a gap holds a
// count of each fingerprint, so such twins are examined as many times as
// the gap recorded them.

// gapSeed seeds the fingerprints of one process (gaps never outlive it).
var gapSeed = maphash.MakeSeed()

// fpKey is what a fingerprint covers.
type fpKey struct {
	time, received int64
	raw            string
}

func fingerprint(t, received int64, raw string) uint64 {
	return maphash.Comparable(gapSeed, fpKey{time: t, received: received, raw: raw})
}

// Gap records the events live detection missed, for CatchUp. Not safe for
// concurrent use: its owner (the live queue) serializes Add.
type Gap struct {
	fps                []uint64
	minRecv, maxRecv   int64
	spans              []timeSpan // event-time span of each recorded batch
	skipped, unstamped int
	// streams is the event-time span of the events of each stream (source,
	// host) recorded, so CatchUp reads only those streams' blocks in those
	// spans; nil once more than gapStreamsMax streams were seen (then every
	// stream's blocks in spans are read).
	streams map[gapStream]timeSpan
	many    bool // more than gapStreamsMax streams: streams is nil
}

// gapStream is a stream of the store: its blocks hold one source and host.
type gapStream struct{ source, host string }

// gapStreamsMax bounds the streams a gap remembers (#5): a catch-up after
// a burst of many hosts reads the blocks of all streams instead.
const gapStreamsMax = 1 << 14

// timeSpan is an inclusive range of event times.
type timeSpan struct{ lo, hi int64 }

// NewGap returns an empty gap.
func NewGap() *Gap { return &Gap{} }

// Add records the events of a batch that detection examines (our own
// signals and internal partitions are never examined) and returns how many
// it recorded.
func (g *Gap) Add(events []event.Event) int {
	n := 0
	span := timeSpan{lo: 1<<63 - 1, hi: -1 << 63}
	for i := range events {
		e := &events[i]
		if skipDetection(e) {
			g.skipped++
			continue
		}
		if e.Received <= 0 {
			g.unstamped++ // cannot be found by receive time
			continue
		}
		g.fps = append(g.fps, fingerprint(e.Time, e.Received, e.Raw))
		if len(g.fps) == 1 || e.Received < g.minRecv {
			g.minRecv = e.Received
		}
		g.addStream(e)
		g.maxRecv = max(g.maxRecv, e.Received)
		span.lo, span.hi = min(span.lo, e.Time), max(span.hi, e.Time)
		n++
	}
	if n > 0 {
		if k := len(g.spans); k > 0 && g.spans[k-1].lo <= span.hi+int64(time.Minute) && span.lo <= g.spans[k-1].hi+int64(time.Minute) {
			g.spans[k-1] = timeSpan{lo: min(g.spans[k-1].lo, span.lo), hi: max(g.spans[k-1].hi, span.hi)}
		} else {
			g.spans = append(g.spans, span)
		}
	}
	return n
}

// addStream widens the event-time span of e's stream.
func (g *Gap) addStream(e *event.Event) {
	if g.many {
		return
	}
	if g.streams == nil {
		g.streams = map[gapStream]timeSpan{}
	}
	k := gapStream{e.Source, e.Host}
	sp, ok := g.streams[k]
	switch {
	case !ok && len(g.streams) >= gapStreamsMax:
		g.streams, g.many = nil, true
	case !ok:
		g.streams[k] = timeSpan{lo: e.Time, hi: e.Time}
	case e.Time < sp.lo || e.Time > sp.hi:
		g.streams[k] = timeSpan{lo: min(sp.lo, e.Time), hi: max(sp.hi, e.Time)}
	}
}

// mayHold reports whether a block may hold events of the gap: its stream
// was recorded and its time range meets the stream's span (always true
// when the gap holds too many streams to tell).
func (g *Gap) mayHold(r store.BlockRef) bool {
	if g.many {
		return true
	}
	sp, ok := g.streams[gapStream{r.Source(), r.Host()}]
	return ok && sp.lo <= r.MaxTime() && r.MinTime() <= sp.hi
}

// Len is the number of events recorded.
func (g *Gap) Len() int {
	if g == nil {
		return 0
	}
	return len(g.fps)
}

// Since is the receive time of the oldest event recorded (Unix ns), or 0.
func (g *Gap) Since() int64 {
	if g.Len() == 0 {
		return 0
	}
	return g.minRecv
}

// Unstamped counts the events Add could not record for want of a receive
// time (the server stamps every event, so 0 there).
func (g *Gap) Unstamped() int {
	if g == nil {
		return 0
	}
	return g.unstamped
}

// mergedSpans sorts the spans and joins those less than a minute apart.
func (g *Gap) mergedSpans() []timeSpan {
	sp := slices.Clone(g.spans)
	slices.SortFunc(sp, func(a, b timeSpan) int { return cmp.Compare(a.lo, b.lo) })
	var out []timeSpan
	for _, s := range sp {
		if k := len(out); k > 0 && s.lo <= out[k-1].hi+int64(time.Minute) {
			out[k-1].hi = max(out[k-1].hi, s.hi)
			continue
		}
		out = append(out, s)
	}
	return out
}

// CatchUpStats describes one catch-up.
type CatchUpStats struct {
	// Events were read back and detected; Missing were recorded but not
	// found in the store (deleted meanwhile, or never found again).
	Events, Missing int
	// Blocks were read (their rows in the gap's receive-time range).
	Blocks  int
	Signals int
	Took    time.Duration
}

// CatchUp detects the events a gap recorded, read back from snap (taken
// after the gap was closed: every event it recorded is in it), and hands
// their signals to emit. Blocks are detected in order of their first event
// time, in batches of up to detectChunk events.
func (d *Detector) CatchUp(ctx context.Context, snap store.Snapshot, g *Gap, emit func([]Signal)) (CatchUpStats, error) {
	start := time.Now()
	var cs CatchUpStats
	if g.Len() == 0 {
		return cs, nil
	}
	d.busySince.Store(g.minRecv)
	fps := slices.Clone(g.fps)
	slices.Sort(fps)
	taken := make([]bool, len(fps))
	spans := g.mergedSpans()
	refs, _, err := snap.Blocks(ctx, store.Query{MinTime: spans[0].lo, MaxTime: spans[len(spans)-1].hi + 1})
	if err != nil {
		return cs, fmt.Errorf("catch up: %w", err)
	}
	refs = slices.DeleteFunc(refs, func(r store.BlockRef) bool {
		if r.Partition() == SignalsPartition || !g.mayHold(r) {
			return true
		}
		i, _ := slices.BinarySearchFunc(spans, r.MinTime(), func(s timeSpan, t int64) int { return cmp.Compare(s.hi, t) })
		return i == len(spans) || spans[i].lo > r.MaxTime() // no span meets [MinTime, MaxTime]
	})
	slices.SortStableFunc(refs, func(a, b store.BlockRef) int { return cmp.Compare(a.MinTime(), b.MinTime()) })
	found := 0
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return cs, fmt.Errorf("catch up: %w", err)
		}
		evs, err := gapEvents(ref, g.minRecv, g.maxRecv, fps, taken)
		if err != nil {
			return cs, fmt.Errorf("catch up: %w", err)
		}
		if len(evs) == 0 {
			continue
		}
		cs.Blocks++
		found += len(evs)
		for evs = d.skipReplayed(evs); len(evs) > 0; {
			n := min(len(evs), detectChunk)
			sigs := d.Detect(evs[:n])
			cs.Events += n
			cs.Signals += len(sigs)
			if len(sigs) > 0 {
				emit(sigs)
			}
			evs = evs[n:]
		}
		if found == len(fps) {
			break
		}
	}
	cs.Missing = len(fps) - found
	cs.Took = time.Since(start)
	d.caughtUp.Add(uint64(cs.Events))
	d.catchUps.Add(1)
	d.missing.Add(uint64(cs.Missing))
	return cs, nil
}

// gapEvents returns the rows of a block that a gap recorded (fps sorted;
// taken marks the fingerprints already found, which it updates). Only the
// _received column is decoded for a block without rows in [lo, hi].
func gapEvents(ref store.BlockRef, lo, hi int64, fps []uint64, taken []bool) ([]event.Event, error) {
	b, recv, err := loadReceived(ref, func(r int64) bool { return r >= lo && r <= hi })
	if b == nil || err != nil {
		return nil, err
	}
	raw := b.Column(event.FieldRaw)
	keep := make([]bool, len(recv))
	n := 0
	for i, r := range recv {
		if r == 0 {
			continue
		}
		var text string
		if raw != nil && raw.Has(i) {
			text = raw.Values[i]
		}
		fp := fingerprint(b.Times[i], r, text)
		j, ok := slices.BinarySearch(fps, fp)
		for ; ok && j < len(fps) && fps[j] == fp; j++ {
			if !taken[j] {
				taken[j], keep[i] = true, true
				n++
				break
			}
		}
	}
	if n == 0 {
		return nil, nil
	}
	return b.Events(keep), nil
}
