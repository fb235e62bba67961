package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// benchQuery is one query of the set: its name, its text in Mamori's query
// language, the README target and the reference store's figure (10M set).
type benchQuery struct {
	name   string
	text   string
	target time.Duration
	ref    time.Duration
}

// querySet is the README's query set. The texts use the Sumo Logic style
// syntax that internal/query parses.
var querySet = []benchQuery{
	{"needle_term", needleHash, 20 * time.Millisecond, 104 * time.Millisecond},
	{"needle_ip", `"` + needleIP + `"`, 50 * time.Millisecond, 1458 * time.Millisecond},
	{"field_eq_needle", "src_ip=" + needleIP, 20 * time.Millisecond, 116 * time.Millisecond},
	{"field_eq_count", "user=" + eqUser + " | count", 50 * time.Millisecond, 87 * time.Millisecond},
	{"phrase_count", `"` + phrase + `" | count`, refShare(151), 151 * time.Millisecond},
	{"regex_count", "_raw matches /" + failRegexp.String() + "/ | count", refShare(208), 208 * time.Millisecond},
	{"count_by_host", "* | count by host", 5 * time.Millisecond, 2200 * time.Microsecond},
	{"count_by_1m", "* | timeslice 1m | count by _timeslice", 20 * time.Millisecond, 140 * time.Millisecond},
	{"top_users", "* | count by user | sort by _count desc | limit 10", refShare(275), 275 * time.Millisecond},
	{"distinct_src_ip", "* | count_distinct(src_ip)", refShare(449), 449 * time.Millisecond},
	{"ssh_bruteforce_top", "app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 10", 50 * time.Millisecond, 138 * time.Millisecond},
	{"host_tail_100", "host=" + tailHost + " | limit 100", 50 * time.Millisecond, 23 * time.Millisecond},
}

// refShare is the "0.8 × the reference figure" target, from milliseconds.
func refShare(refMs int) time.Duration {
	return time.Duration(refMs) * time.Millisecond * 8 / 10
}

// searchRequest is the body of POST /api/v1/search.
type searchRequest struct {
	Query string `json:"query"`
	From  string `json:"from"`
	To    string `json:"to"`
	Limit int    `json:"limit"`
}

// row is one result row, decoded with json.Number for numbers.
type row map[string]any

// searchResult is what one search returned.
type searchResult struct {
	rows  []row
	stats json.RawMessage // the _stats trailer, if any
	took  time.Duration   // request sent to last byte read
}

// searchClient runs queries against one server.
type searchClient struct {
	base, token string
	http        *http.Client
	timeout     time.Duration
}

// search runs one query and reads the whole answer.
func (c *searchClient) search(ctx context.Context, req searchRequest) (*searchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/search", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+c.token)
	start := time.Now()
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096)) // best effort: the status already says it failed
		return nil, fmt.Errorf("search: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	res, err := readRows(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	res.took = time.Since(start)
	return res, nil
}

// readRows decodes an NDJSON result stream. A line whose only member starts
// with "_stats" is the trailer; one whose only member starts with "_error"
// is a failure reported by the server mid-stream.
func readRows(r io.Reader) (*searchResult, error) {
	res := &searchResult{}
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if perr := res.addLine(line); perr != nil {
				return nil, fmt.Errorf("result line %d: %w", n, perr)
			}
		}
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read result line %d: %w", n, err)
		}
	}
}

func (res *searchResult) addLine(line []byte) error {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var rw row
	if err := d.Decode(&rw); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if len(rw) == 1 {
		for k, v := range rw {
			switch {
			case strings.HasPrefix(k, "_error"):
				return fmt.Errorf("server error: %v", v)
			case strings.HasPrefix(k, "_stats"):
				res.stats, _ = json.Marshal(v) // v came from JSON, it marshals back
				return nil
			}
		}
	}
	res.rows = append(res.rows, rw)
	return nil
}

// median returns the middle value (the mean of the two middle ones for an
// even count), or 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
