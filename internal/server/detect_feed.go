package server

import (
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

// detectFeed is live detection's subscription to the pipeline: a
// detect.LiveQueue (bounded by bytes, with catch-up from the store).
type detectFeed struct{ *detect.LiveQueue }

func newDetectFeed(maxBytes int64, maxGap int) detectFeed {
	return detectFeed{detect.NewLiveQueue(maxBytes, maxGap)}
}

func (f detectFeed) offer(events []event.Event) { f.Offer(events) }
