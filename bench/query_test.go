package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadRows(t *testing.T) {
	in := `{"_time":"2026-01-01T00:00:00Z","_raw":"a"}` + "\n" +
		"\n" +
		`{"host":"h","_count":3}` + "\n" +
		`{"_stats":{"rows":2,"took_ms":1}}`
	res, err := readRows(strings.NewReader(in))
	if err != nil {
		t.Fatalf("readRows: %v", err)
	}
	if len(res.rows) != 2 {
		t.Fatalf("readRows: %d rows, want 2", len(res.rows))
	}
	if c, ok := toInt(res.rows[1]["_count"]); !ok || c != 3 {
		t.Fatalf("row 2 _count = %v", res.rows[1]["_count"])
	}
	if !strings.Contains(string(res.stats), "took_ms") {
		t.Fatalf("stats = %s", res.stats)
	}
}

func TestReadRowsBad(t *testing.T) {
	f := func(in, wantErr string) {
		t.Helper()
		_, err := readRows(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("readRows(%q) error = %v, want it to contain %q", in, err, wantErr)
		}
	}
	f(`{"a":1}`+"\n"+`{"_error":"budget exceeded"}`+"\n", "line 2: server error: budget exceeded")
	f(`{"a":1}`+"\nnot json\n", "line 2: not a JSON object")
	f(`[1,2]`, "line 1: not a JSON object")
	f(`{"a":`, "line 1")
}

func TestMedian(t *testing.T) {
	f := func(in []time.Duration, want time.Duration) {
		t.Helper()
		if got := median(in); got != want {
			t.Fatalf("median(%v) = %v, want %v", in, got, want)
		}
	}
	f(nil, 0)
	f([]time.Duration{7}, 7)
	f([]time.Duration{5, 1, 3}, 3)
	f([]time.Duration{4, 1, 3, 2}, 2) // (2+3)/2 in integer nanoseconds
	f([]time.Duration{10, 30, 20, 50, 40}, 30)
	in := []time.Duration{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Fatal("median sorted its input in place")
	}
}

func TestSearchClient(t *testing.T) {
	var got searchRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if got.Query == "bad |" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"syntax error","offset":5}`)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, `{"_count":19339}`+"\n"+`{"_stats":{}}`+"\n")
	}))
	defer srv.Close()
	c := &searchClient{base: srv.URL, token: "tok", http: srv.Client(), timeout: 5 * time.Second}
	ctx := context.Background()
	res, err := c.search(ctx, searchRequest{Query: "user=zack.hill | count", From: "a", To: "b", Limit: 9})
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if got.Query != "user=zack.hill | count" || got.From != "a" || got.To != "b" || got.Limit != 9 {
		t.Fatalf("server got %+v", got)
	}
	if v := checkCount(res.rows, 19339); !v.OK {
		t.Fatalf("checkCount: %+v", v)
	}
	if res.took <= 0 {
		t.Fatalf("took = %v", res.took)
	}
	_, err = c.search(ctx, searchRequest{Query: "bad |"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("bad query: error = %v", err)
	}
	c.token = "wrong"
	if _, err := c.search(ctx, searchRequest{Query: "x"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token: error = %v", err)
	}
}

func TestQuerySet(t *testing.T) {
	seen := map[string]bool{}
	for _, q := range querySet {
		if seen[q.name] {
			t.Fatalf("query %s listed twice", q.name)
		}
		seen[q.name] = true
		if q.text == "" || q.target <= 0 || q.ref <= 0 {
			t.Fatalf("query %s: incomplete %+v", q.name, q)
		}
		if v := checkAnswer(q.name, nil, &expected{}); v.Want == "a known query" {
			t.Fatalf("query %s has no answer check", q.name)
		}
	}
	if len(seen) != 12 {
		t.Fatalf("%d queries, want the README's 12", len(seen))
	}
}

func FuzzReadRows(f *testing.F) {
	f.Add([]byte(`{"a":1}` + "\n" + `{"_stats":{}}`))
	f.Add([]byte(`{"_error":"x"}`))
	f.Add([]byte("{\"a\":\"b\"}\n{bad\n{\"c\":2}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := readRows(strings.NewReader(string(b)))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, r := range res.rows {
			for _, name := range []string{"needle_term", "field_eq_count", "count_by_1m", "top_users", "host_tail_100"} {
				checkAnswer(name, []row{r}, &expected{ByMinute: map[string]int64{}, ByUser: map[string]int64{}})
			}
		}
	})
}
