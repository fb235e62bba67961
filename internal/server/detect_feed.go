package server

import (
	"time"

	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/event"
)

// detectQueueBytes bounds the events waiting for live detection (their
// approximate memory) unless Options.DetectQueueBytes is set; what does
// not fit is caught up from the store (#5).
const detectQueueBytes = 64 << 20

// detectGapMax bounds the events one gap records (8 bytes each); beyond
// it events are dropped and counted (mamori_detect_dropped_events_total).
const detectGapMax = 16 << 20

// detectQueueWait is how long an ingest batch waits for room in a full
// live detection queue without detection freeing any (8 times as long in
// all) before its events go to a gap (caught up from the store later, at
// about twice the CPU of a live event): bursts that detection cannot
// follow slow ingest down instead (#5).
const detectQueueWait = time.Second

// detectQueueWaitFrom is the smallest queue bound with which ingest waits
// for room: a smaller queue does not hold one shipper's batch (~2 MiB), so
// ingest would go in lock-step with detection; it opens gaps at once.
const detectQueueWaitFrom = 1 << 20

// detectFeed is live detection's subscription to the pipeline: a
// detect.LiveQueue (bounded by bytes, with catch-up from the store).
type detectFeed struct{ *detect.LiveQueue }

func newDetectFeed(maxBytes int64, maxGap int, wait time.Duration) detectFeed {
	q := detect.NewLiveQueue(maxBytes, maxGap)
	if wait == 0 {
		wait = detectQueueWait
	}
	if maxBytes >= detectQueueWaitFrom && wait > 0 {
		q.SetMaxWait(wait)
	}
	return detectFeed{q}
}

func (f detectFeed) offer(events []event.Event) { f.Offer(events) }
