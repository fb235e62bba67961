package server

import (
	"io"

	"github.com/mamori/mamori/internal/metric"
)

// registerDetectQueueMetrics exports how long ingest waited for room in
// live detection's full queue (#5).
func registerDetectQueueMetrics(reg *metric.Registry, feed detectFeed) {
	reg.Func("mamori_detect_queue", func(w io.Writer) {
		s := feed.Stats()
		metric.WriteSimple(w, "mamori_detect_queue_wait_seconds_total", "counter", "Time ingest batches waited for room in live detection's full queue.", s.Waited.Seconds())
	})
}
