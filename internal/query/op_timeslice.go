package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timeslice sets _timeslice (or As) to the start of the event's time bucket:
// "| timeslice 5m", "| timeslice by 1h as hour", "| timeslice 100 buckets".
// Buckets are aligned to the Unix epoch in UTC.
type Timeslice struct {
	Span    time.Duration
	Buckets int // when > 0, Span is derived from the query's time range
	As      string
}

func init() { registerStage(parseTimeslice, "timeslice") }

func parseTimeslice(p *parser, _ string, _ int) Stage {
	p.acceptKeyword("by")
	t := &Timeslice{}
	at := p.pos
	p.skipSpace()
	numStart := p.pos
	n := p.number()
	if n != "" && p.acceptKeyword("buckets") {
		b, err := strconv.Atoi(n)
		if err != nil || b <= 0 || b > 100000 {
			p.errorf(at, "bad number of buckets %s", quote(n))
			return nil
		}
		t.Buckets = b
	} else {
		p.pos = numStart
		w := p.word()
		d, err := parseSpan(w)
		if err != nil {
			p.errorf(at, "timeslice: %v", err)
			return nil
		}
		t.Span = d
	}
	if p.acceptKeyword("as") {
		at := p.pos
		name, ok := p.ident()
		if !ok {
			p.errorf(at, "expected a field name after as")
			return nil
		}
		t.As = canonicalField(name)
		if t.As == "_timeslice" {
			t.As = ""
		}
	}
	return t
}

func (t *Timeslice) String() string {
	s := "timeslice " + formatSpan(t.Span)
	if t.Buckets > 0 {
		s = "timeslice " + itoa(t.Buckets) + " buckets"
	}
	if t.As != "" && t.As != "_timeslice" {
		s += " as " + fieldName(t.As)
	}
	return s
}

func (t *Timeslice) compile(c *compiler) ([]op, error) {
	span := t.Span
	if t.Buckets > 0 {
		from, to := c.opts.From, c.opts.To
		if to == 0 {
			to = c.now.UnixNano()
		}
		if from == 0 || to <= from {
			return nil, fmt.Errorf("timeslice %d buckets needs a time range", t.Buckets)
		}
		span = time.Duration((to - from) / int64(t.Buckets))
		span = niceSpan(span)
	}
	name := t.As
	if name == "" {
		name = "_timeslice"
	}
	return []op{&timesliceOp{slot: c.outSlot(name), span: int64(span)}}, nil
}

type timesliceOp struct {
	slot int
	span int64
}

func (o *timesliceOp) apply(r record) bool {
	r.set(o.slot, timeVal(floorDiv(r.timeNs(), o.span)*o.span))
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// niceSpan rounds a span up to a whole second, minute, hour or day step.
func niceSpan(d time.Duration) time.Duration {
	steps := []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
		time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	for _, s := range steps {
		if d <= s {
			return s
		}
	}
	return (d + 24*time.Hour - 1) / (24 * time.Hour) * 24 * time.Hour
}

// parseSpan parses 500ms, 30s, 5m, 1h, 1d, 1w (and combinations Go's
// time.ParseDuration accepts).
func parseSpan(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("expected a duration like 1m, 1h or 1d")
	}
	var d time.Duration
	var err error
	switch {
	case strings.HasSuffix(s, "d") || strings.HasSuffix(s, "w"):
		n, e := strconv.ParseFloat(s[:len(s)-1], 64)
		unit := 24 * time.Hour
		if s[len(s)-1] == 'w' {
			unit *= 7
		}
		d, err = time.Duration(n*float64(unit)), e
	default:
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad duration %s: want a positive duration like 1m, 1h or 1d", quote(s))
	}
	return d, nil
}

func formatSpan(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0:
		return itoa(int(d/(7*24*time.Hour))) + "w"
	case d%(24*time.Hour) == 0:
		return itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return itoa(int(d/time.Minute)) + "m"
	case d%time.Second == 0:
		return itoa(int(d/time.Second)) + "s"
	case d%time.Millisecond == 0:
		return itoa(int(d/time.Millisecond)) + "ms"
	}
	return d.String()
}
