package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The needles and filters of the query set (see ../shared/bench/README.md).
const (
	needleHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	needleIP   = "203.0.113.77"
	eqUser     = "zack.hill"
	phrase     = "Failed password for invalid user"
	tailHost   = "web-001.fra1.corp"
	tailRows   = 100
	topN       = 10
)

var failRegexp = regexp.MustCompile(`Failed password for invalid user (root|admin) from 1[0-9]{2}\.`)

// expectedVersion changes whenever the reference scan changes, so stale
// FILE.expected.json caches are recomputed.
const expectedVersion = 3

// expected holds the exact answers of the query set for one dataset,
// computed by a reference scan of the NDJSON file. Group maps are complete
// so that every row a server returns can be checked, ties included.
type expected struct {
	Version       int              `json:"version"`
	Records       int64            `json:"records"`
	Bytes         int64            `json:"bytes"`
	Malformed     int64            `json:"malformed"`
	NeedleTerm    int64            `json:"needle_term"`
	NeedleIP      int64            `json:"needle_ip"`
	FieldEqNeedle int64            `json:"field_eq_needle"`
	FieldEqCount  int64            `json:"field_eq_count"`
	PhraseCount   int64            `json:"phrase_count"`
	RegexCount    int64            `json:"regex_count"`
	ByHost        map[string]int64 `json:"by_host"`
	ByMinute      map[string]int64 `json:"by_minute"` // key: Unix seconds of the minute
	ByUser        map[string]int64 `json:"by_user"`
	DistinctSrcIP int64            `json:"distinct_src_ip"`
	SSHFailBySrc  map[string]int64 `json:"ssh_fail_by_src"`
	TailTimes     []int64          `json:"tail_times"` // newest first, Unix ns, at most tailRows
}

// scanExpected computes the answers from an NDJSON dataset whose records
// carry _time (RFC 3339), _msg and flat fields. A line that is not a JSON
// object is counted in Malformed and skipped; the rest still count.
func scanExpected(r io.Reader) (*expected, error) {
	e := &expected{
		Version: expectedVersion, ByHost: map[string]int64{}, ByMinute: map[string]int64{},
		ByUser: map[string]int64{}, SSHFailBySrc: map[string]int64{},
	}
	sc := &scanner{e: e, srcIPs: map[string]struct{}{}}
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			e.Bytes += int64(len(line))
			sc.line(line)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("scan dataset: %w", err)
		}
	}
	e.DistinctSrcIP = int64(len(sc.srcIPs))
	e.TailTimes = sc.tail
	return e, nil
}

// scanRecord holds the fields the answers group or filter on. Values are
// any so that a number where a string was expected does not make the whole
// record unreadable.
type scanRecord struct {
	Time    any `json:"_time"`
	Msg     any `json:"_msg"`
	Host    any `json:"host"`
	User    any `json:"user"`
	SrcIP   any `json:"src_ip"`
	App     any `json:"app"`
	Outcome any `json:"outcome"`
}

// scanner is the state of one reference scan.
type scanner struct {
	e      *expected
	srcIPs map[string]struct{}
	tail   []int64 // newest times of tailHost, newest first
}

// line counts one NDJSON line.
func (sc *scanner) line(line []byte) {
	e := sc.e
	var rec scanRecord
	if err := json.Unmarshal(line, &rec); err != nil || bytes.HasPrefix(bytes.TrimSpace(line), []byte("null")) {
		e.Malformed++
		return
	}
	e.Records++
	// Fast path: the raw line holds no \u escape, so a needle absent from
	// its bytes is absent from every decoded value. Slow path: decode all
	// values and look in each.
	exact := bytes.Contains(line, []byte(`\u`))
	if (exact || bytes.Contains(line, []byte(needleHash))) && anyValue(line, func(v string) bool { return containsToken(v, needleHash) }) {
		e.NeedleTerm++
	}
	if (exact || containsFold(line, phrase)) && anyValue(line, func(v string) bool { return containsFold([]byte(v), phrase) }) {
		e.PhraseCount++
	}
	msg, host, src := str(rec.Msg), str(rec.Host), str(rec.SrcIP)
	if containsToken(msg, needleIP) {
		e.NeedleIP++
	}
	if src == needleIP {
		e.FieldEqNeedle++
	}
	if strings.EqualFold(str(rec.User), eqUser) {
		e.FieldEqCount++
	}
	if failRegexp.MatchString(msg) {
		e.RegexCount++
	}
	if host != "" {
		e.ByHost[host]++
	}
	t, terr := time.Parse(time.RFC3339Nano, str(rec.Time))
	if terr == nil {
		e.ByMinute[strconv.FormatInt(t.Unix()/60*60, 10)]++
	}
	if u := str(rec.User); u != "" {
		e.ByUser[u]++
	}
	if src != "" {
		sc.srcIPs[src] = struct{}{}
	}
	if strings.EqualFold(str(rec.App), "sshd") && strings.EqualFold(str(rec.Outcome), "failure") && src != "" {
		e.SSHFailBySrc[src]++
	}
	if terr == nil && strings.EqualFold(host, tailHost) {
		sc.tail = pushNewest(sc.tail, t.UnixNano(), tailRows)
	}
}

// str is a scalar JSON value as text ("" for null, objects and arrays).
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// containsFold reports whether b contains the ASCII text sub, ignoring case.
func containsFold(b []byte, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	first := sub[0] | 0x20
	for i := 0; i+len(sub) <= len(b); i++ {
		if b[i]|0x20 == first && bytes.EqualFold(b[i:i+len(sub)], []byte(sub)) {
			return true
		}
	}
	return false
}

// pushNewest inserts ts into desc (sorted newest first) and keeps at most max.
func pushNewest(desc []int64, ts int64, max int) []int64 {
	i, _ := slices.BinarySearchFunc(desc, ts, func(a, b int64) int { return cmp.Compare(b, a) })
	if i >= max {
		return desc
	}
	desc = slices.Insert(desc, i, ts)
	if len(desc) > max {
		desc = desc[:max]
	}
	return desc
}

// anyValue reports whether f holds for any top-level string value of the
// JSON object in line.
func anyValue(line []byte, f func(string) bool) bool {
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		return false
	}
	for _, v := range rec {
		if s, ok := v.(string); ok && f(s) {
			return true
		}
	}
	return false
}

// containsToken reports whether tok occurs in s as a whole token: not
// preceded or followed by a letter or digit, nor by a '.' or '-' that joins
// it to one (so 203.0.113.77 does not match inside 203.0.113.771 or
// 1.203.0.113.77).
func containsToken(s, tok string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], tok)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(tok)
		if !joinedBefore(s, i) && !joinedAfter(s, j) {
			return true
		}
		off = i + 1
	}
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func joinedBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	c := s[i-1]
	return isAlnum(c) || (c == '.' || c == '-') && i >= 2 && isAlnum(s[i-2])
}

func joinedAfter(s string, j int) bool {
	if j >= len(s) {
		return false
	}
	c := s[j]
	return isAlnum(c) || (c == '.' || c == '-') && j+1 < len(s) && isAlnum(s[j+1])
}

// loadExpected returns the answers for dataset, from the cache file next to
// it when that is current, else by scanning the dataset (and caching).
func loadExpected(dataset string) (*expected, bool, error) {
	cache := dataset + ".expected.json"
	if e, err := readExpectedCache(cache, dataset); err == nil {
		return e, true, nil
	}
	f, err := os.Open(dataset)
	if err != nil {
		return nil, false, fmt.Errorf("expected answers: %w", err)
	}
	defer f.Close()
	e, err := scanExpected(f)
	if err != nil {
		return nil, false, fmt.Errorf("expected answers: %w", err)
	}
	b, err := json.Marshal(e)
	if err == nil {
		err = os.WriteFile(cache, b, 0o644)
	}
	if err != nil {
		return e, false, fmt.Errorf("expected answers: write cache: %w", err)
	}
	return e, false, nil
}

func readExpectedCache(cache, dataset string) (*expected, error) {
	ci, err := os.Stat(cache)
	if err != nil {
		return nil, err
	}
	di, err := os.Stat(dataset)
	if err != nil {
		return nil, err
	}
	if ci.ModTime().Before(di.ModTime()) {
		return nil, fmt.Errorf("cache %s is older than the dataset", cache)
	}
	b, err := os.ReadFile(cache)
	if err != nil {
		return nil, err
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("read cache %s: %w", cache, err)
	}
	if e.Version != expectedVersion || e.Bytes != di.Size() {
		return nil, fmt.Errorf("cache %s is stale", cache)
	}
	return &e, nil
}

// group is one row of a count-by answer.
type group struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// top returns the n largest groups, by count descending then value.
func top(m map[string]int64, n int) []group {
	gs := make([]group, 0, len(m))
	for v, c := range m {
		gs = append(gs, group{v, c})
	}
	slices.SortFunc(gs, func(a, b group) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	if len(gs) > n {
		gs = gs[:n]
	}
	return gs
}

// readmeAnswer is one set of published answers from ../shared/bench/README.md.
type readmeAnswer struct {
	needleTerm, needleIP, fieldEqNeedle, fieldEqCount int64
	phraseCount, regexCount, byHost, byMinute         int64
	distinctSrcIP                                     int64
	topUser                                           group // zero when the README gives none
	topSSH                                            group
}

// readmeAnswers are the README's answers for seed 42, by record count.
var readmeAnswers = map[int64]readmeAnswer{
	1_000_000: {5, 10, 10, 19_339, 71_820, 5_145, 200, 1_440, 64_673,
		group{"-", 83_651}, group{"22.45.4.114", 8_395}},
	10_000_000: {100, 108, 92, 192_875, 720_930, 51_858, 200, 1_440, 101_797, group{}, group{}},
}

// crossCheck compares the reference scan with the README's published
// answers (seed 42 only) and returns every disagreement: a non-empty list
// means the harness or the dataset is wrong, not the server.
func crossCheck(e *expected, seed uint64) []string {
	ra, ok := readmeAnswers[e.Records]
	if !ok || seed != 42 {
		return nil
	}
	var probs []string
	chk := func(name string, got, want int64) {
		if got != want {
			probs = append(probs, fmt.Sprintf("%s: scan %d, README %d", name, got, want))
		}
	}
	chk("needle_term", e.NeedleTerm, ra.needleTerm)
	chk("needle_ip", e.NeedleIP, ra.needleIP)
	chk("field_eq_needle", e.FieldEqNeedle, ra.fieldEqNeedle)
	chk("field_eq_count", e.FieldEqCount, ra.fieldEqCount)
	chk("phrase_count", e.PhraseCount, ra.phraseCount)
	chk("regex_count", e.RegexCount, ra.regexCount)
	chk("count_by_host rows", int64(len(e.ByHost)), ra.byHost)
	chk("count_by_1m rows", int64(len(e.ByMinute)), ra.byMinute)
	chk("distinct_src_ip", e.DistinctSrcIP, ra.distinctSrcIP)
	chkTop := func(name string, m map[string]int64, want group) {
		if want.Value == "" {
			return
		}
		if t := top(m, 1); len(t) == 0 || t[0] != want {
			probs = append(probs, fmt.Sprintf("%s first: scan %v, README %v", name, t, want))
		}
	}
	chkTop("top_users", e.ByUser, ra.topUser)
	chkTop("ssh_bruteforce_top", e.SSHFailBySrc, ra.topSSH)
	return probs
}
