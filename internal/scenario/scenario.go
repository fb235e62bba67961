package scenario

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// Files maps each file the scenario generator writes to its ingest format
// (the `format` parameter of POST /api/v1/ingest).
var Files = map[string]string{
	"winlogbeat_sysmon.ndjson":   "json",
	"winlogbeat_security.ndjson": "json",
	"syslog_rfc3164.log":         "syslog",
	"syslog_rfc5424.log":         "syslog",
	"firewall_cef.log":           "cef",
	"proxy_squid_access.log":     "squid",
	"dns_bind_query.log":         "bind",
	"cloudtrail.ndjson":          "cloudtrail",
	"exchange_app.ndjson":        "json",
}

// Body is one ingest request: the lines of one file in one slice of event
// time.
type Body struct {
	File string
	Path string // /api/v1/ingest?source=…&format=…
	Data []byte
}

// Slices reads the generated files in dir and cuts them into slices of
// event time (the times the server will parse), in time order, every file
// of a slice before the next slice. It returns the bodies and the number
// of lines. A line whose time cannot be told goes to the slice of time 0.
func Slices(dir string, slice time.Duration) ([]Body, int, error) {
	bySlice := map[int64]map[string]*bytes.Buffer{}
	total := 0
	for file, format := range Files {
		data, err := os.ReadFile(filepath.Join(dir, file)) // #nosec G304 -- the scenario folder the test names
		if err != nil {
			return nil, 0, fmt.Errorf("scenario: %w", err)
		}
		var p parse.Parser
		f := format
		if format != "json" {
			p, _ = parse.Lookup(format)
			f = "text"
		}
		evs, _, err := ingest.DecodeLines(bytes.NewReader(data), ingest.LineOptions{Format: f, Parser: p, Now: func() int64 { return time.Now().UnixNano() }})
		if err != nil {
			return nil, 0, fmt.Errorf("scenario: decode %s: %w", file, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		i := 0
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var ts int64
			if i < len(evs) {
				ts = evs[i].Time
			}
			i++
			k := ts / int64(slice)
			if bySlice[k] == nil {
				bySlice[k] = map[string]*bytes.Buffer{}
			}
			buf := bySlice[k][file]
			if buf == nil {
				buf = &bytes.Buffer{}
				bySlice[k][file] = buf
			}
			buf.Write(sc.Bytes())
			buf.WriteByte('\n')
			total++
		}
		if err := sc.Err(); err != nil {
			return nil, 0, fmt.Errorf("scenario: read %s: %w", file, err)
		}
	}
	keys := make([]int64, 0, len(bySlice))
	for k := range bySlice {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	files := make([]string, 0, len(Files))
	for f := range Files {
		files = append(files, f)
	}
	sort.Strings(files)
	var out []Body
	for _, k := range keys {
		for _, file := range files {
			if buf := bySlice[k][file]; buf != nil {
				source := strings.TrimSuffix(strings.TrimSuffix(file, ".ndjson"), ".log")
				out = append(out, Body{File: file, Path: "/api/v1/ingest?source=" + source + "&format=" + Files[file], Data: buf.Bytes()})
			}
		}
	}
	return out, total, nil
}

// Post sends every body in order with post (which returns the HTTP status
// and the answer), waiting and retrying while the server answers 429.
func Post(bodies []Body, post func(path string, body []byte) (int, []byte)) error {
	for _, b := range bodies {
		for attempt := 0; ; attempt++ {
			st, ans := post(b.Path, b.Data)
			if st == http.StatusTooManyRequests && attempt < 100 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if st != http.StatusOK {
				return fmt.Errorf("scenario: ingest %s: HTTP %d: %s", b.File, st, ans)
			}
			break
		}
	}
	return nil
}

// RecentStart returns the start of the spec in srcDir (dev.json) moved
// by whole weeks to the latest time at which the whole scenario has
// happened by now. Whole weeks keep every event's weekday and hour of the
// day in the organisation's time zone as the spec has them: business
// hours, nights and weekends stay what the spec's authors meant (a shift
// by hours turns an office-hours lookalike into a night-time anomaly).
func RecentStart(srcDir string, now time.Time) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(srcDir, "dev.json")) // #nosec G304 -- the spec in the test data folder the caller names
	if err != nil {
		return time.Time{}, fmt.Errorf("scenario: %w", err)
	}
	var spec struct {
		Start    time.Time `json:"start"`
		Duration string    `json:"duration"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return time.Time{}, fmt.Errorf("scenario: read the spec: %w", err)
	}
	span, err := specDuration(spec.Duration)
	if err != nil {
		return time.Time{}, err
	}
	const week = 7 * 24 * time.Hour
	weeks := now.Sub(spec.Start.Add(span)) / week
	return spec.Start.Add(weeks * week).UTC(), nil
}

// specDuration reads a spec's duration: Go syntax plus a "d" for days
// ("7d", "3d12h").
func specDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		var n int
		if _, err := fmt.Sscanf(s[:i], "%d", &n); err != nil {
			return 0, fmt.Errorf("scenario: duration %q: %w", s, err)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	if s == "" {
		return days, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("scenario: duration %q: %w", s, err)
	}
	return days + d, nil
}

// Generate builds the scenario generator found in srcDir (the folder of
// dev.json) and writes the dev scenario at scale into outDir, its events
// starting at start (Unix time 0: the generator's default). The binary is
// written beside outDir.
func Generate(srcDir, outDir, scale string, start time.Time) error {
	src, err := filepath.Abs(srcDir)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	gen := outDir + "-scenariogen"
	if out, err := exec.Command("go", "-C", src, "build", "-o", gen, ".").CombinedOutput(); err != nil { // #nosec G204 -- fixed go build of the test data's generator
		return fmt.Errorf("scenario: build the generator: %w\n%s", err, out)
	}
	args := []string{"-spec", filepath.Join(src, "dev.json"), "-out", outDir, "-scale", scale, "-q"}
	if start.Unix() != 0 {
		args = append(args, "-start", start.UTC().Format(time.RFC3339))
	}
	if out, err := exec.Command(gen, args...).CombinedOutput(); err != nil { // #nosec G204 -- the generator just built, with fixed flags
		return fmt.Errorf("scenario: run the generator: %w\n%s", err, out)
	}
	return nil
}
