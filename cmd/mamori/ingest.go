package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func init() {
	register("ingest", "send log files (plain, .gz, NDJSON) to a server", runIngest)
}

type ingestTotals struct {
	Accepted, Rejected, ParseErrors int
	Errors                          []string
}

func runIngest(ctx context.Context, args []string) error {
	fs := newFlagSet("ingest", "[FILE...|-]")
	srv, tok := clientFlags(fs)
	source := fs.String("source", "", "source name for the events (default: the file name)")
	host := fs.String("host", "", "host name for the events")
	category := fs.String("category", "", "category for the events")
	format := fs.String("format", "", "json, text, or empty to detect per line")
	timeField := fs.String("time-field", "", "JSON member holding the event time")
	batchMB := fs.Int("batch-mb", 8, "uncompressed megabytes per request")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	c, err := newClient(*srv, *tok)
	if err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return err
	}
	var tot ingestTotals
	for _, f := range files {
		src := *source
		if src == "" && f != "-" {
			src = strings.TrimSuffix(baseName(f), ".gz")
		}
		q := url.Values{}
		for k, v := range map[string]string{"source": src, "host": *host, "category": *category, "format": *format, "time_field": *timeField} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if err := ingestFile(ctx, c, enc, f, "/api/v1/ingest?"+q.Encode(), *batchMB<<20, &tot); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	fmt.Fprintf(os.Stderr, "accepted %d, rejected %d, parse errors %d\n", tot.Accepted, tot.Rejected, tot.ParseErrors)
	for i, e := range tot.Errors {
		if i == 20 {
			fmt.Fprintf(os.Stderr, "  ... %d more\n", len(tot.Errors)-20)
			break
		}
		fmt.Fprintln(os.Stderr, "  "+e)
	}
	if tot.Rejected > 0 {
		return fmt.Errorf("%d lines rejected", tot.Rejected)
	}
	return nil
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func ingestFile(ctx context.Context, c *client, enc *zstd.Encoder, name, path string, batchBytes int, tot *ingestTotals) error {
	var in io.Reader = os.Stdin
	var size int64
	if name != "-" {
		f, err := os.Open(name) // #nosec G304 -- reading the files the operator names is this command's job
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	counted := &countingReader{r: in}
	var rd io.Reader = counted
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(counted)
		if err != nil {
			return fmt.Errorf("open gzip: %w", err)
		}
		defer zr.Close()
		rd = zr
	}
	prog := newProgress(name, size)
	defer prog.done()
	br := bufio.NewReaderSize(rd, 1<<20)
	var batch bytes.Buffer
	lineBase := 0
	lines := 0
	flush := func() error {
		if batch.Len() == 0 {
			return nil
		}
		body := enc.EncodeAll(batch.Bytes(), nil)
		hdr := http.Header{"Content-Encoding": {"zstd"}, "Content-Type": {"application/x-ndjson"}}
		resp, err := c.do(ctx, "POST", path, hdr, body)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return readAPIError(resp)
		}
		var res struct {
			Accepted, Rejected int
			ParseErrors        int `json:"parse_errors"`
			Errors             []struct {
				Line  int
				Error string
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			return fmt.Errorf("read answer: %w", err)
		}
		tot.Accepted += res.Accepted
		tot.Rejected += res.Rejected
		tot.ParseErrors += res.ParseErrors
		for _, e := range res.Errors {
			tot.Errors = append(tot.Errors, fmt.Sprintf("%s line %d: %s", name, lineBase+e.Line, e.Error))
		}
		lineBase += lines
		lines = 0
		batch.Reset()
		prog.update(counted.n)
		return nil
	}
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			batch.Write(line)
			if line[len(line)-1] != '\n' {
				if err == bufio.ErrBufferFull {
					continue // the rest of a long line follows
				}
				batch.WriteByte('\n')
			}
			lines++
		}
		if batch.Len() >= batchBytes {
			if ferr := flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil && err != bufio.ErrBufferFull {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return fmt.Errorf("read: %w", err)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// progress draws a one-line progress bar on a terminal's stderr.
type progress struct {
	name  string
	size  int64
	start time.Time
	on    bool
}

func newProgress(name string, size int64) *progress {
	return &progress{name: name, size: size, start: time.Now(), on: isTerminal(os.Stderr)}
}

func (p *progress) update(n int64) {
	if !p.on {
		return
	}
	el := time.Since(p.start).Seconds()
	rate := float64(n) / 1e6 / max(el, 1e-9)
	if p.size > 0 {
		frac := float64(n) / float64(p.size)
		width := 30
		done := int(frac * float64(width))
		done = min(max(done, 0), width)
		fmt.Fprintf(os.Stderr, "\r%s [%s%s] %3.0f%% %.1f MB/s ", p.name, strings.Repeat("=", done), strings.Repeat(" ", width-done), frac*100, rate)
	} else {
		fmt.Fprintf(os.Stderr, "\r%s %.1f MB %.1f MB/s ", p.name, float64(n)/1e6, rate)
	}
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintln(os.Stderr)
	}
}
