package server

import (
	"fmt"
	"io"
	"time"

	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/metric"
	"github.com/mamori/mamori/internal/store"
)

// registerStoreMetrics renders the store's counters at scrape time.
func registerStoreMetrics(reg *metric.Registry, st *store.Store) {
	reg.Func("mamori_store", func(w io.Writer) {
		m := st.Metrics()
		fmt.Fprintf(w, "# HELP mamori_store_parts Parts per partition.\n# TYPE mamori_store_parts gauge\n")
		for _, p := range m.Partitions {
			fmt.Fprintf(w, "mamori_store_parts{%s} %d\n", metric.Label("partition", p.Name), p.Parts)
		}
		fmt.Fprintf(w, "# HELP mamori_store_disk_bytes Bytes of parts on disk per partition.\n# TYPE mamori_store_disk_bytes gauge\n")
		for _, p := range m.Partitions {
			fmt.Fprintf(w, "mamori_store_disk_bytes{%s} %d\n", metric.Label("partition", p.Name), p.Bytes)
		}
		fmt.Fprintf(w, "# HELP mamori_store_rows Rows stored per partition.\n# TYPE mamori_store_rows gauge\n")
		for _, p := range m.Partitions {
			fmt.Fprintf(w, "mamori_store_rows{%s} %d\n", metric.Label("partition", p.Name), p.Rows)
		}
		metric.WriteSimple(w, "mamori_store_rows_appended_total", "counter", "Events appended since start.", float64(m.RowsAppended))
		metric.WriteSimple(w, "mamori_store_overloaded_total", "counter", "Appends refused because the buffer was full.", float64(m.OverloadedAppends))
		metric.WriteSimple(w, "mamori_store_flushes_total", "counter", "Buffer flushes to parts.", float64(m.Flushes))
		metric.WriteSimple(w, "mamori_store_flush_errors_total", "counter", "Failed buffer flushes.", float64(m.FlushErrors))
		metric.WriteSimple(w, "mamori_store_merges_total", "counter", "Part merges done.", float64(m.MergesDone))
		metric.WriteSimple(w, "mamori_store_merged_parts_total", "counter", "Input parts of the merges done.", float64(m.MergedParts))
		metric.WriteSimple(w, "mamori_store_merge_blocks_copied_total", "counter", "Blocks copied verbatim by merges.", float64(m.MergeBlocksCopied))
		metric.WriteSimple(w, "mamori_store_buffer_bytes", "gauge", "Memory held by events not yet in parts.", float64(m.BufferBytes))
		metric.WriteSimple(w, "mamori_store_buffer_rows", "gauge", "Events not yet in parts.", float64(m.BufferRows))
		metric.WriteSimple(w, "mamori_wal_segments", "gauge", "Write-ahead log segments on disk.", float64(m.WALSegments))
		metric.WriteHistogram(w, "mamori_wal_fsync_seconds", "WAL fsync latency.", store.FsyncBuckets, m.FsyncBucketCounts, m.WALFsyncSeconds, m.WALFsyncs)
		metric.WriteSimple(w, "mamori_retention_deleted_parts_total", "counter", "Parts deleted by retention by age.", float64(m.RetentionDeletedParts))
		metric.WriteSimple(w, "mamori_retention_deleted_bytes_total", "counter", "Bytes deleted by retention by age.", float64(m.RetentionDeletedBytes))
		metric.WriteSimple(w, "mamori_disk_budget_deleted_parts_total", "counter", "Parts deleted to respect the disk budget.", float64(m.DiskBudgetDeletedParts))
		metric.WriteSimple(w, "mamori_disk_budget_deleted_bytes_total", "counter", "Bytes deleted to respect the disk budget.", float64(m.DiskBudgetDeletedBytes))
		// The query caches are the process's (shared by its stores).
		bc, sc := store.BodyCacheStats(), store.SumCacheStats()
		metric.WriteSimple(w, "mamori_query_body_cache_hits_total", "counter", "Kept block bodies found decompressed in the body cache.", float64(bc.Hits))
		metric.WriteSimple(w, "mamori_query_body_cache_misses_total", "counter", "Kept block bodies not in the body cache.", float64(bc.Misses))
		metric.WriteSimple(w, "mamori_query_body_cache_bytes", "gauge", "Bytes held by the body cache.", float64(bc.Bytes))
		metric.WriteSimple(w, "mamori_query_sum_cache_hits_total", "counter", "Part sums found in the sum cache.", float64(sc.Hits))
		metric.WriteSimple(w, "mamori_query_sum_cache_misses_total", "counter", "Part sums built for lack of one in the sum cache.", float64(sc.Misses))
		metric.WriteSimple(w, "mamori_query_sum_cache_bytes", "gauge", "Bytes held by the sum cache.", float64(sc.Bytes))
	})
}

// registerDetectMetrics renders the detector's counters, its queue and
// the catch-ups of what the queue could not hold (#5).
func registerDetectMetrics(reg *metric.Registry, d *detect.Detector, feed detectFeed) {
	reg.Func("mamori_detect", func(w io.Writer) {
		c := d.Counts()
		fs := feed.Stats()
		lag := d.Lag().Seconds()
		if fs.GapSince != 0 {
			lag = max(lag, float64(time.Now().UnixNano()-fs.GapSince)/1e9)
		}
		metric.WriteSimple(w, "mamori_detect_events_total", "counter", "Events evaluated by live detection (caught-up events included).", float64(c.Processed))
		metric.WriteSimple(w, "mamori_detect_signals_total", "counter", "Signals raised by live detection.", float64(c.Raised))
		metric.WriteSimple(w, "mamori_detect_suppressed_total", "counter", "Repeated signals folded by suppression.", float64(c.Suppressed))
		metric.WriteSimple(w, "mamori_detect_queue_batches", "gauge", "Batches waiting for live detection.", float64(fs.Batches))
		metric.WriteSimple(w, "mamori_detect_queue_bytes", "gauge", "Approximate memory of the events waiting for live detection.", float64(fs.QueuedBytes))
		metric.WriteSimple(w, "mamori_detect_lag_seconds", "gauge", "Age of the oldest stored event live detection has not finished (queued or in a gap; 0 when caught up).", max(lag, 0))
		metric.WriteSimple(w, "mamori_detect_gap_events", "gauge", "Events the full detection queue did not hold, waiting to be read back from the store.", float64(fs.GapEvents))
		metric.WriteSimple(w, "mamori_detect_gaps_total", "counter", "Times the detection queue was full and a gap opened.", float64(fs.Gaps))
		metric.WriteSimple(w, "mamori_detect_caught_up_events_total", "counter", "Events read back from the store and detected after the detection queue was full.", float64(c.CaughtUp))
		metric.WriteSimple(w, "mamori_detect_catchup_missing_events_total", "counter", "Events a gap recorded that its catch-up did not find in the store (deleted meanwhile).", float64(c.Missing))
		metric.WriteSimple(w, "mamori_detect_dropped_events_total", "counter", "Events live detection will never examine (a gap beyond its bound).", float64(fs.Dropped))
	})
}
