package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"
)

func init() {
	register("search", "run a query on a server and print the results", runSearch)
}

func runSearch(ctx context.Context, args []string) error {
	fs := newFlagSet("search", "QUERY")
	srv, tok := clientFlags(fs)
	from := fs.String("from", "-1h", "start of the time range: RFC 3339 or relative like -15m, -24h, -7d")
	to := fs.String("to", "now", "end of the time range: RFC 3339, relative, or now")
	limit := fs.Int("limit", 0, "at most this many rows (0: the server's default)")
	output := fs.String("output", "", "table, json, ndjson or csv (default: table on a terminal, else ndjson)")
	explain := fs.Bool("explain", false, "print the plan and pruning counts instead of results")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	query := strings.Join(fs.Args(), " ")
	out := *output
	if out == "" {
		out = "ndjson"
		if isTerminal(os.Stdout) {
			out = "table"
		}
	}
	switch out {
	case "table", "json", "ndjson", "csv":
	default:
		return fmt.Errorf("--output %q: want table, json, ndjson or csv", out)
	}
	c, err := newClient(*srv, *tok)
	if err != nil {
		return err
	}
	req := map[string]any{"query": query, "from": *from, "to": *to}
	if *limit > 0 {
		req["limit"] = *limit
	}
	if *explain {
		req["explain"] = true
	}
	body, _ := json.Marshal(req) // a map of plain values always marshals
	resp, err := c.do(ctx, "POST", "/api/v1/search", http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := readAPIError(resp)
		if ae, ok := err.(*apiError); ok && ae.Offset != nil {
			return fmt.Errorf("%s\n  %s\n  %s^", ae.Message, query, strings.Repeat(" ", min(*ae.Offset, len(query))))
		}
		return err
	}
	if *explain {
		_, err := io.Copy(os.Stdout, resp.Body)
		return err
	}
	return printRows(resp.Body, out)
}

// kv is one member of a result row, in server order.
type kv struct {
	key string
	val json.RawMessage
}

// decodeRow decodes a JSON object keeping member order.
func decodeRow(line []byte) ([]kv, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("result row is not an object: %.80s", line)
	}
	var row []kv
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		row = append(row, kv{key: kt.(string), val: v})
	}
	return row, nil
}

func display(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

func printRows(r io.Reader, out string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	var table [][]kv
	var cw *csv.Writer
	var header []string
	var stats json.RawMessage
	first := true
	if out == "json" {
		w.WriteString("[")
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		row, err := decodeRow(line)
		if err != nil {
			return err
		}
		if len(row) == 1 && (row[0].key == "_stats" || row[0].key == "_error") {
			if row[0].key == "_error" {
				w.Flush()
				return fmt.Errorf("search failed: %s", display(row[0].val))
			}
			if out == "table" {
				stats = row[0].val
			}
			continue
		}
		switch out {
		case "ndjson":
			w.Write(line)
			w.WriteByte('\n')
		case "json":
			if !first {
				w.WriteString(",")
			}
			w.WriteString("\n")
			w.Write(line)
		case "csv":
			if cw == nil {
				cw = csv.NewWriter(w)
				for _, m := range row {
					header = append(header, m.key)
				}
				cw.Write(header)
			}
			rec := make([]string, len(header))
			for _, m := range row {
				for i, h := range header {
					if h == m.key {
						rec[i] = display(m.val)
					}
				}
			}
			cw.Write(rec)
		case "table":
			table = append(table, row)
		}
		first = false
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	switch out {
	case "json":
		w.WriteString("\n]\n")
	case "csv":
		if cw != nil {
			cw.Flush()
			return cw.Error()
		}
	case "table":
		writeTable(w, table)
		if err := w.Flush(); err != nil {
			return err
		}
		printStats(stats, len(table))
	}
	return nil
}

// printStats summarizes the search trailer on stderr.
func printStats(raw json.RawMessage, rows int) {
	var st struct {
		PartsScanned  int   `json:"parts_scanned"`
		PartsTotal    int   `json:"parts_total"`
		BlocksScanned int   `json:"blocks_scanned"`
		BlocksTotal   int   `json:"blocks_total"`
		RowsScanned   int64 `json:"rows_scanned"`
		RowsMatched   int64 `json:"rows_matched"`
		TookNs        int64 `json:"took_ns"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &st) != nil {
		return
	}
	fmt.Fprintf(os.Stderr, "%d rows in %.1f ms; scanned %d of %d blocks (%d of %d parts), %d rows read, %d matched\n",
		rows, float64(st.TookNs)/1e6, st.BlocksScanned, st.BlocksTotal, st.PartsScanned, st.PartsTotal, st.RowsScanned, st.RowsMatched)
}

// writeTable prints rows aligned in columns; long values are cut.
func writeTable(w *bufio.Writer, rows [][]kv) {
	var cols []string
	seen := map[string]bool{}
	for _, r := range rows {
		for _, m := range r {
			if !seen[m.key] {
				seen[m.key] = true
				cols = append(cols, m.key)
			}
		}
	}
	const maxWidth = 80
	cells := make([][]string, len(rows))
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c)
	}
	for ri, r := range rows {
		cells[ri] = make([]string, len(cols))
		for _, m := range r {
			for ci, c := range cols {
				if c == m.key {
					s := strings.ReplaceAll(display(m.val), "\n", " ")
					if utf8.RuneCountInString(s) > maxWidth {
						s = string([]rune(s)[:maxWidth-1]) + "…"
					}
					cells[ri][ci] = s
					width[ci] = max(width[ci], utf8.RuneCountInString(s))
				}
			}
		}
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-utf8.RuneCountInString(s)) }
	for i, c := range cols {
		w.WriteString(pad(c, width[i]) + "  ")
	}
	w.WriteString("\n")
	for _, r := range cells {
		for i, s := range r {
			w.WriteString(pad(s, width[i]) + "  ")
		}
		w.WriteString("\n")
	}
}
