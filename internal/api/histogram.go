package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/mamori/mamori/internal/query"
)

type histogramRequest struct {
	Query   string `json:"query"`
	From    string `json:"from"`
	To      string `json:"to"`
	Buckets int    `json:"buckets"` // wanted number of buckets (default 60)
}

type histogramAnswer struct {
	Bucket  string         `json:"bucket"` // bucket width, e.g. "1m"
	Buckets []bucketCount  `json:"buckets"`
	Stats   map[string]any `json:"stats,omitempty"`
}

type bucketCount struct {
	Time  string `json:"time"`
	Count int64  `json:"count"`
}

// bucketWidths are the widths a histogram may use, smallest first.
var bucketWidths = []struct {
	d    time.Duration
	text string
}{
	{time.Second, "1s"}, {5 * time.Second, "5s"}, {10 * time.Second, "10s"}, {30 * time.Second, "30s"},
	{time.Minute, "1m"}, {5 * time.Minute, "5m"}, {10 * time.Minute, "10m"}, {30 * time.Minute, "30m"},
	{time.Hour, "1h"}, {3 * time.Hour, "3h"}, {6 * time.Hour, "6h"}, {12 * time.Hour, "12h"}, {24 * time.Hour, "1d"},
}

// histogram handles POST /api/v1/histogram: counts of the query's search
// expression per time bucket over the range (the UI's bar chart). Buckets
// without events are included with count 0.
func (h *Handler) histogram(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	var req histogramRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.writeError(w, r, invalidf("histogram request: %v", err), nil)
		return
	}
	q, err := query.Parse(req.Query)
	if err != nil {
		h.writeError(w, r, err, syntaxDetails(err))
		return
	}
	opts, err := h.searchOptions(searchRequest{From: req.From, To: req.To}, now)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	want := req.Buckets
	if want <= 0 || want > 1000 {
		want = 60
	}
	span := time.Duration(opts.To - opts.From)
	width := bucketWidths[len(bucketWidths)-1]
	for _, bw := range bucketWidths {
		if span/bw.d <= time.Duration(want) {
			width = bw
			break
		}
	}
	search := "*"
	if q.Search != nil {
		search = q.Search.String()
	}
	hq, err := query.Parse(search + " | timeslice " + width.text + " | count by _timeslice")
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	opts.Limit = 0
	p, _ := PrincipalFrom(r.Context())
	if hq, err = applyScope(p, hq, &opts); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	snap := h.opts.Store.Snapshot()
	defer snap.Release()
	counts := map[int64]int64{}
	st, err := query.Run(r.Context(), snap, hq, opts, func(row query.Row) error {
		ts, _ := row.Get("_timeslice")
		c, _ := row.Get("_count")
		n, _ := strconv.ParseInt(c, 10, 64)
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			counts[t.UnixNano()] += n
		} else if ns, err := strconv.ParseInt(ts, 10, 64); err == nil {
			counts[ns] += n
		}
		return nil
	})
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	ans := histogramAnswer{Bucket: width.text}
	d := int64(width.d)
	for t := opts.From - opts.From%d; t < opts.To; t += d {
		ans.Buckets = append(ans.Buckets, bucketCount{Time: time.Unix(0, t).UTC().Format(time.RFC3339), Count: counts[t]})
	}
	ans.Stats = map[string]any{"blocks_scanned": st.BlocksScanned, "blocks_skipped": st.BlocksSkipped, "rows_matched": st.RowsMatched, "took_ns": st.Took}
	writeJSON(w, http.StatusOK, ans)
}
