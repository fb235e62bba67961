package store

import (
	"bytes"
	"encoding/binary"
	"errors"

	"math/rand/v2"
	"os"

	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mamori/mamori/internal/event"
)

// Reference copies of the session 11 encoders and decoder: the faster
// versions must give the same bytes, events and errors.

// refAppendTemplate is the session 11 appendTemplate (strings.Index,
// the closure, a linear scan of the values seen).
func refAppendTemplate(tp *templater, b []byte, raw string, e *event.Event, row int, cb *colBuilder) []byte {
	tp.refs, tp.seen = tp.refs[:0], tp.seen[:0]
	from := 0
	add := func(v string, code byte) int {
		if len(v) < tmplMinValue || len(v) > len(raw) {
			return -1
		}
		prev := -2
		for _, sv := range tp.seen {
			if len(sv.v) == len(v) && sv.v == v {
				prev = sv.pos
				break
			}
		}
		if prev == -1 {
			return -1
		}
		p := strings.Index(raw[from:], v)
		switch {
		case p >= 0:
			p += from
		case prev >= 0:
			return prev
		case from > 0:
			p = strings.Index(raw[:min(len(raw), from+len(v)-1)], v)
		}
		if prev == -2 {
			tp.seen = append(tp.seen, seenValue{v, p})
		}
		if p >= 0 {
			tp.refs = append(tp.refs, tmplRef{p, len(v), code})
		}
		return p
	}
	add(e.Host, tmplHost)
	add(e.Source, tmplSource)
	for fi, f := range e.Fields {
		j, ok := cb.find(fi, f.Name)
		if !ok || j >= tmplMaxCols {
			continue
		}
		c := &cb.cols[j]
		if c.vals[row] != f.Value || (c.absent != nil && c.absent[row]) {
			continue
		}
		p := add(f.Value, byte(tmplColBase+j))
		if p < 0 {
			continue
		}
		from = p + len(f.Value)
		if coveredAt(raw, p, len(f.Value)) {
			c.covered[row] = true
		}
	}
	if len(tp.refs) == 0 {
		return appendEscaped(b, raw)
	}
	sortRefs(tp.refs)
	at := 0
	for _, r := range tp.refs {
		if r.pos < at {
			continue
		}
		b = appendEscaped(b, raw[at:r.pos])
		b = append(b, tmplEsc, r.code)
		at = r.pos + r.n
	}
	return appendEscaped(b, raw[at:])
}

// refAppendSkeleton is the session 11 appendSkeleton.
func refAppendSkeleton(s *skeletoner, sk, t []byte) []byte {
	lit := 0
	for i := 0; i < len(t); {
		c := t[i]
		if c == tmplEsc {
			if i+1 < len(t) && t[i+1] == tmplVar {
				s.bad = true
			}
			i += 2
			continue
		}
		if wordClass[c] == 0 {
			i++
			continue
		}
		j, digit := i, uint8(0)
		for j < len(t) && wordClass[t[j]] != 0 {
			digit |= wordClass[t[j]]
			j++
		}
		if digit&2 != 0 {
			sk = append(sk, t[lit:i]...)
			sk = append(sk, tmplEsc, tmplVar)
			s.vl = binary.AppendUvarint(s.vl, uint64(j-i))
			s.vb = append(s.vb, t[i:j]...)
			lit = j
		}
		i = j
	}
	return append(sk, t[lit:]...)
}

// refDecodeBatch is the session 11 decodeBatch (reader.fields and
// uvarintSlow without their fast paths).
func refDecodeBatch(p string) ([]event.Event, error) {
	r := &reader{s: p}
	n := r.count(9)
	if r.err != nil {
		return nil, r.err
	}
	evs := make([]event.Event, n)
	for i := range evs {
		e := &evs[i]
		e.Time = refVarint(r)
		e.Received = refVarint(r)
		e.Raw, e.Source, e.Host, e.Category, e.Partition = r.strSlow(), r.strSlow(), r.strSlow(), r.strSlow(), r.strSlow()
		nf := r.count(2)
		for j := 0; j < nf; j++ {
			e.Fields = append(e.Fields, event.Field{Name: r.strSlow(), Value: r.strSlow()})
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if r.off != len(r.s) {
		return nil, errors.New("trailing bytes")
	}
	return evs, nil
}

func refVarint(r *reader) int64 {
	if r.err != nil {
		return 0
	}
	u, n := binary.Uvarint([]byte(r.s[r.off:]))
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.off += n
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// w12Rows returns varied rows: values found once, twice, not at all, in
// front of the previous field's, inside words, with 0x01 bytes, long
// values and long fields.
func w12Rows(rnd *rand.Rand, n int) []*event.Event {
	words := []string{"bob", "alice", "10.1.2.3", "10.1.2.33", "sshd", "25460", "port", "22", "x\x01y", "\x01\x01",
		"success", "a_b", "é", strings.Repeat("long", 40), "1", "123", "ab", "abab", "h1x"}
	var out []*event.Event
	for i := 0; i < n; i++ {
		var raw []string
		for k := rnd.IntN(14); k > 0; k-- {
			raw = append(raw, words[rnd.IntN(len(words))])
		}
		seps := []string{" ", "", ".", "=", "[", "\x01"}
		var b strings.Builder
		for k, w := range raw {
			if k > 0 {
				b.WriteString(seps[rnd.IntN(len(seps))])
			}
			b.WriteString(w)
		}
		e := &event.Event{Raw: b.String(), Host: words[rnd.IntN(len(words))]}
		if rnd.IntN(3) == 0 {
			e.Source = words[rnd.IntN(len(words))]
		}
		names := []string{"host", "user", "src_ip", "pid", "app", "user.name", "source.ip", "msg", "x"}
		for k := rnd.IntN(10); k > 0; k-- {
			e.Fields = append(e.Fields, event.Field{Name: names[rnd.IntN(len(names))], Value: words[rnd.IntN(len(words))]})
		}
		out = append(out, e)
	}
	return out
}

// TestTemplatesMatchRef builds the templates of varied rows and of the
// bench rows (when MAMORI_BENCH_FILE is set) both ways: same bytes, same
// covered rows.
func TestTemplatesMatchRef(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 12))
	check := func(rows []*event.Event) {
		t.Helper()
		var cb colBuilder
		cb.build(rows)
		var tp, ref templater
		tp.build(rows, &cb)
		covered := make([][]bool, len(cb.cols))
		for i := range cb.cols {
			covered[i] = slices.Clone(cb.cols[i].covered)
			clear(cb.cols[i].covered)
		}
		var data []byte
		for i, e := range rows {
			want := refAppendTemplate(&ref, nil, e.Raw, e, i, &cb)
			data = append(data, want...)
		}
		if !bytes.Equal(tp.data, data) {
			t.Fatalf("templates differ")
		}
		for i := range cb.cols {
			if !slices.Equal(covered[i], cb.cols[i].covered) {
				t.Fatalf("column %d: covered differs", i)
			}
		}
		// Skeletons of the templates, both ways.
		var s, rs skeletoner
		start := 0
		for _, end := range tp.ends {
			tt := tp.data[start:end]
			start = end
			got := s.appendSkeleton(nil, tt)
			want := refAppendSkeleton(&rs, nil, tt)
			if !bytes.Equal(got, want) || s.bad != rs.bad {
				t.Fatalf("skeleton of %q: %q, want %q", tt, got, want)
			}
		}
		if !bytes.Equal(s.vl, rs.vl) || !bytes.Equal(s.vb, rs.vb) {
			t.Fatalf("skeleton variables differ")
		}
	}
	for k := 0; k < 200; k++ {
		check(w12Rows(rnd, 1+rnd.IntN(60)))
	}
	if benchFileSet() {
		evs := serverEvents(t, 24000)
		rows := make([]*event.Event, 0, 3000)
		for i := range evs {
			rows = append(rows, &evs[i])
			if len(rows) == 3000 {
				check(rows)
				rows = rows[:0]
			}
		}
	}
}

func benchFileSet() bool { return os.Getenv("MAMORI_BENCH_FILE") != "" }

// TestIndexValue holds indexValue to strings.Index.
func TestIndexValue(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 20000; k++ {
		s := w12Text(rnd, rnd.IntN(80))
		v := w12Text(rnd, 2+rnd.IntN(5))
		if rnd.IntN(2) == 0 && len(s) > 2 {
			i := rnd.IntN(len(s) - 1)
			v = s[i : i+2+rnd.IntN(len(s)-i-1)]
		}
		if got, want := indexValue(s, v), strings.Index(s, v); got != want {
			t.Fatalf("indexValue(%q, %q) = %d, want %d", s, v, got, want)
		}
	}
}

func w12Text(rnd *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "ab1.\x01"[rnd.IntN(5)]
	}
	return string(b)
}

func FuzzIndexValue(f *testing.F) {
	f.Add("10.1.2.3 to 10.1.2.33", "10.1.2.33")
	f.Add("aaab", "ab")
	f.Fuzz(func(t *testing.T, s, v string) {
		if len(v) < 2 {
			return
		}
		if got, want := indexValue(s, v), strings.Index(s, v); got != want {
			t.Fatalf("indexValue(%q, %q) = %d, want %d", s, v, got, want)
		}
	})
}

func FuzzAppendSkeletonRef(f *testing.F) {
	f.Add([]byte("Jan  1 00:00:00 \x01\x05 sshd[25460]: x\x01\x01y 9\x01\x30z"))
	f.Add([]byte("\x01\x00"))
	f.Fuzz(func(t *testing.T, tt []byte) {
		var s, rs skeletoner
		got := s.appendSkeleton(nil, tt)
		want := refAppendSkeleton(&rs, nil, tt)
		if !bytes.Equal(got, want) || s.bad != rs.bad || !bytes.Equal(s.vl, rs.vl) || !bytes.Equal(s.vb, rs.vb) {
			t.Fatalf("skeleton of %q: %q, want %q", tt, got, want)
		}
	})
}

// FuzzDecodeBatchRef holds decodeBatch (its fast paths) to the plain
// decoder: the same events, an error on the same inputs.
func FuzzDecodeBatchRef(f *testing.F) {
	evs := testEvents(0, 3)
	evs[1].Raw = strings.Repeat("r", 300)
	evs[2].Fields = append(evs[2].Fields, event.Field{Name: strings.Repeat("n", 130), Value: strings.Repeat("v", 200)})
	f.Add(appendBatch(nil, evs))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'a'})
	f.Fuzz(func(t *testing.T, p []byte) {
		got, err := decodeBatch(string(p))
		want, werr := refDecodeBatch(string(p))
		if (err == nil) != (werr == nil) {
			t.Fatalf("error %v, reference %v", err, werr)
		}
		if err == nil {
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("events differ (-ref +got):\n%s", diff)
			}
		}
	})
}

// TestBatchSizeLong checks batchSize against appendBatch for events with
// names, values and raw texts of one- and two-byte lengths.
func TestBatchSizeLong(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for k := 0; k < 300; k++ {
		evs := testEvents(0, 1+rnd.IntN(5))
		parts := make([]string, len(evs))
		for i := range evs {
			evs[i].Raw = strings.Repeat("r", rnd.IntN(300))
			evs[i].Time = rnd.Int64() - rnd.Int64()
			for j := rnd.IntN(4); j > 0; j-- {
				evs[i].Fields = append(evs[i].Fields, event.Field{Name: strings.Repeat("n", rnd.IntN(200)), Value: strings.Repeat("v", rnd.IntN(20000))})
			}
			parts[i] = evs[i].Partition
		}
		want := appendBatch(nil, evs)
		if got := batchSize(evs, parts); got != len(want) {
			t.Fatalf("batchSize = %d, want %d", got, len(want))
		}
		b, _ := encodeBatch(evs, parts, batchSize(evs, parts))
		if !bytes.Equal(b, want) {
			t.Fatal("encodeBatch differs from appendBatch")
		}
		got, err := decodeBatch(string(b))
		if err != nil || len(got) != len(evs) {
			t.Fatalf("decode: %v", err)
		}
		if diff := cmp.Diff(evs, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	}
}
