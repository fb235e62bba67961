package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/logreduce"
	"github.com/mamori/mamori/internal/store"
)

// LogReduce groups messages into signatures (templates with <*> for the
// variable parts), most frequent first: "| logreduce", "| logreduce
// field=msg". Rows: _signature_id, _signature, _count, _share (0..1),
// _example and _query (a search that finds the signature's messages).
// Package internal/logreduce describes the method.
type LogReduce struct {
	Field string // default _raw
	// Values, when set ("| logreduce values f1, f2"), groups events exactly
	// by the values of these fields: one signature per combination.
	Values []string
	// Keys ("| logreduce keys") groups events exactly by their set of field
	// names (metadata fields, starting with '_', left out); an event without
	// fields is grouped by the keys of its _raw (JSON members or key=value
	// pairs).
	Keys bool
}

// LogCompare compares the signatures of the query's time range with those
// of the same query Shift earlier: "| logcompare timeshift -24h". Rows:
// _signature_id, _signature, _kind (new, gone, changed, unchanged),
// _count, _baseline_count, _delta_pct, _score and _query, the most
// surprising first.
type LogCompare struct {
	Field string
	Shift time.Duration // > 0, how far back the baseline is
}

func init() {
	registerStage(parseLogReduce, "logreduce")
	registerStage(parseLogCompare, "logcompare")
}

func parseLogReduce(p *parser, _ string, _ int) Stage {
	if p.acceptKeyword("keys") {
		return &LogReduce{Keys: true}
	}
	if p.acceptKeyword("values") {
		vs := p.fieldNames("values")
		if vs == nil {
			return nil
		}
		return &LogReduce{Values: vs}
	}
	f, ok := p.parseFieldOpt()
	if !ok {
		return nil
	}
	if f == event.FieldRaw {
		f = ""
	}
	return &LogReduce{Field: f}
}

func parseLogCompare(p *parser, _ string, _ int) Stage {
	l := &LogCompare{}
	f, ok := p.parseFieldOpt()
	if !ok {
		return nil
	}
	if f != event.FieldRaw {
		l.Field = f
	}
	if !p.acceptKeyword("timeshift") {
		p.errorf(p.pos, "expected timeshift -<duration> after logcompare (e.g. timeshift -24h)")
		return nil
	}
	p.skipSpace()
	at := p.pos
	w := strings.TrimPrefix(p.word(), "-")
	d, err := parseSpan(w)
	if err != nil || d <= 0 {
		p.errorf(at, "logcompare timeshift: expected a duration like -24h or -7d")
		return nil
	}
	l.Shift = d
	if f2, ok := p.parseFieldOpt(); !ok {
		return nil
	} else if f2 != "" && f2 != event.FieldRaw {
		l.Field = f2
	}
	return l
}

func (l *LogReduce) String() string {
	if len(l.Values) > 0 {
		return "logreduce values " + strings.Join(l.Values, ", ")
	}
	if l.Keys {
		return "logreduce keys"
	}
	return "logreduce" + fieldOptString(l.Field)
}

func (l *LogCompare) String() string {
	return "logcompare" + fieldOptString(l.Field) + " timeshift -" + formatSpan(l.Shift)
}

func (l *LogReduce) compile(c *compiler) ([]op, error) {
	if l.Keys {
		if c.need != nil {
			c.need.all = true // every column: the key set is all of them
		}
		return []op{&logReduceOp{c: c, src: c.slot(event.FieldRaw), keys: true}}, nil
	}
	o := &logReduceOp{c: c, src: srcSlot(c, l.Field)}
	if len(l.Values) > 0 {
		o.src = -1
		o.values = l.Values
		for _, f := range l.Values {
			o.valueSlots = append(o.valueSlots, srcSlot(c, f))
		}
	}
	return []op{o}, nil
}

func (l *LogCompare) compile(c *compiler) ([]op, error) {
	return []op{&logReduceOp{c: c, src: srcSlot(c, l.Field), compare: l}}, nil
}

// logReduceOp is the aggregation of logreduce and logcompare: one Reducer
// per worker, merged at the end. For logcompare the executor first runs
// the query over the baseline range with baseline set, which leaves the
// merged baseline Reducer in base.
type logReduceOp struct {
	c        *compiler
	src      int
	compare  *LogCompare
	baseline bool               // this run reads the baseline period
	base     *logreduce.Reducer // after the baseline run
	// values mode: exact grouping by these fields' values.
	values     []string
	valueSlots []int
	// keys mode: exact grouping by the set of field names.
	keys bool
}

type logReduceShard struct {
	o     *logReduceOp
	r     *logreduce.Reducer
	mem   memAcct
	n     int
	names []string // keys mode: scratch
}

// clusterBytes estimates the memory of one more message in a Reducer
// (it keeps clusters, not messages; this charges examples and growth).
const clusterBytes = 64

func (o *logReduceOp) newShard(b *budget) aggShard {
	return &logReduceShard{o: o, r: logreduce.New(o.reducerOptions()), mem: memAcct{b: b}}
}

func (s *logReduceShard) add(r record) error {
	if s.o.keys {
		s.addKeys(r)
		s.n++
		if s.n&255 == 0 {
			return s.mem.add(256 * clusterBytes)
		}
		return nil
	}
	if len(s.o.valueSlots) > 0 {
		parts := make([]string, len(s.o.valueSlots))
		for i, sl := range s.o.valueSlots {
			v := r.get(sl)
			val := ""
			if !v.isNull() {
				val = v.str()
			}
			// A leading index keeps the fields in the order asked for.
			parts[i] = strconv.Itoa(i) + "\x00" + s.o.values[i] + "=" + val
		}
		s.r.AddKeys(parts)
		s.n++
		if s.n&255 == 0 {
			return s.mem.add(256 * clusterBytes)
		}
		return nil
	}
	v := r.get(s.o.src)
	if v.isNull() {
		return nil
	}
	msg := v.str()
	if s.o.baseline {
		s.r.AddBaseline(msg)
	} else {
		s.r.Add(msg)
	}
	// The Reducer's memory is bounded by its cluster limit; charge a
	// little per message so a budget still sees the work.
	s.n++
	if s.n&255 == 0 {
		return s.mem.add(256 * clusterBytes)
	}
	return nil
}

func (o *logReduceOp) result(shards []aggShard) ([]*tableRow, error) {
	var all *logreduce.Reducer
	if !o.baseline && o.base != nil {
		all = o.base
	}
	for _, sh := range shards {
		s := sh.(*logReduceShard)
		if all == nil {
			all = s.r
			continue
		}
		all.Merge(s.r)
	}
	if all == nil {
		all = logreduce.New(o.reducerOptions())
	}
	if o.baseline {
		o.base = all
		return nil, nil
	}
	if o.compare != nil {
		return o.compareRows(all.Compare(logreduce.CompareOptions{})), nil
	}
	sigs := all.Signatures()
	out := make([]*tableRow, 0, len(sigs))
	for _, sg := range sigs {
		tmpl := sg.Template
		query := sg.Query
		if o.keys {
			query = keysQuery(tmpl)
		}
		if len(o.values) > 0 && len(sg.Examples) > 0 {
			// Exact groups: the example is the group's key, verbatim.
			tmpl = valuesTemplate(sg.Examples[0])
		}
		f := []event.Field{
			{Name: "_signature_id", Value: sg.ID},
			{Name: "_signature", Value: tmpl},
			{Name: "_count", Value: strconv.FormatInt(sg.Count, 10)},
			{Name: "_share", Value: strconv.FormatFloat(sg.Share, 'f', 4, 64)},
		}
		if len(sg.Examples) > 0 {
			ex := sg.Examples[0]
			if len(o.values) > 0 {
				ex = tmpl
			}
			f = append(f, event.Field{Name: "_example", Value: ex})
		}
		f = append(f, event.Field{Name: "_query", Value: query})
		out = append(out, groupRow(o.c, f))
	}
	return out, nil
}

func (o *logReduceOp) compareRows(changes []logreduce.Change) []*tableRow {
	out := make([]*tableRow, 0, len(changes))
	for _, ch := range changes {
		f := []event.Field{
			{Name: "_signature_id", Value: ch.ID},
			{Name: "_signature", Value: ch.Template},
			{Name: "_kind", Value: string(ch.Kind)},
			{Name: "_count", Value: strconv.FormatInt(ch.TargetCount, 10)},
			{Name: "_baseline_count", Value: strconv.FormatInt(ch.BaselineCount, 10)},
			{Name: "_delta_pct", Value: strconv.FormatFloat(ch.DeltaPct, 'f', 1, 64)},
			{Name: "_score", Value: strconv.FormatFloat(ch.Score, 'f', 2, 64)},
			{Name: "_query", Value: ch.Query},
		}
		out = append(out, groupRow(o.c, f))
	}
	return out
}

// groupRow builds an aggregation row (no _time) from named values.
func groupRow(c *compiler, fields []event.Field) *tableRow {
	r := newTableRow(c, 0, fields)
	r.cols = r.cols[1:]
	return r
}

// runBaseline feeds the logcompare baseline: the same query over the time
// range shifted back, into the plan's logcompare operator.
func (ex *executor) runBaseline(ctx context.Context, snap store.Snapshot, q *Query) error {
	o, ok := ex.p.agg.(*logReduceOp)
	if !ok || o.compare == nil {
		for _, t := range ex.p.post {
			if a, ok := t.(aggTableOp); ok {
				if lo, ok := a.o.(*logReduceOp); ok && lo.compare != nil {
					return errors.New("logcompare must be the first aggregation of the query")
				}
			}
		}
		return nil
	}
	if ex.opts.From == 0 || ex.opts.To == 0 {
		return errors.New("logcompare needs a bounded time range (from and to)")
	}
	shift := int64(o.compare.Shift)
	bopts := *ex.opts
	bopts.From, bopts.To = ex.opts.From-shift, ex.opts.To-shift
	bp, err := newPlan(q, &bopts)
	if err != nil {
		return fmt.Errorf("plan logcompare baseline: %w", err)
	}
	bo := bp.agg.(*logReduceOp)
	bo.baseline = true
	bex := &executor{p: bp, opts: &bopts, emit: func(Row) error { return nil }, budget: ex.budget}
	var st Stats
	if err := bex.run(ctx, snap, &st); err != nil {
		return fmt.Errorf("logcompare baseline: %w", err)
	}
	o.base = bo.base
	return nil
}

// reducerOptions applies the user's corrections (promoted, split, merged
// or edited signatures) kept by the server.
func (o *logReduceOp) reducerOptions() logreduce.Options {
	var opts logreduce.Options
	if o.c.opts != nil {
		opts.Corrections = o.c.opts.LogReduceCorrections
	}
	return opts
}

// valuesTemplate turns the key set "0\x00f1=a, 1\x00f2=b" of
// "logreduce values" into "f1=a f2=b".
func valuesTemplate(t string) string {
	parts := strings.Split(t, ", ")
	for i, p := range parts {
		if _, rest, ok := strings.Cut(p, "\x00"); ok {
			parts[i] = rest
		}
	}
	return strings.Join(parts, " ")
}

// addKeys adds the row's set of field names (see LogReduce.Keys), with its
// _raw as the example.
func (s *logReduceShard) addKeys(r record) {
	s.names = appendFieldNames(s.o.c, r, s.names[:0])
	raw := ""
	if v := r.get(s.o.src); !v.isNull() {
		raw = v.str()
	}
	if len(s.names) == 0 && raw != "" {
		// Fields not extracted at ingest: the keys of the raw text. A
		// malformed JSON object keeps the names read before the fault.
		s.names, _ = logreduce.KeyNames(s.names, raw) //nolint:errcheck // partial names are the best answer for bad input
	}
	s.r.AddKeysExample(s.names, raw)
}

// appendFieldNames appends the names of the fields a row has (non-null),
// metadata fields (names starting with '_') left out.
func appendFieldNames(c *compiler, rec record, dst []string) []string {
	add := func(name string) {
		if name != "" && name[0] != '_' {
			dst = append(dst, name)
		}
	}
	switch r := rec.(type) {
	case *rowCtx:
		if r.order != nil {
			// After "fields a, b": the listed fields, then later ones.
			for _, sl := range r.order {
				if !r.get(sl).isNull() {
					add(c.names[sl])
				}
			}
			for _, sl := range r.dirty {
				if !r.ov[sl].isNull() && !slices.Contains(r.order, sl) {
					add(c.names[sl])
				}
			}
		} else {
			bv := r.bv
			for j, col := range bv.fields {
				sl := bv.colSlot[j]
				switch {
				case sl >= 0:
					if !r.get(sl).isNull() {
						add(col.Name)
					}
				case r.keep == nil && col.Has(r.i):
					add(col.Name)
				}
			}
			for _, sl := range r.dirty {
				if sl >= numMetaSlots && !bv.slotIsCol[sl] && !r.ov[sl].isNull() {
					add(c.names[sl])
				}
			}
		}
		for _, x := range r.extra {
			if !x.v.isNull() {
				add(x.name)
			}
		}
	case *tableRow:
		for _, col := range r.cols {
			if col.v.isNull() {
				continue
			}
			if col.slot >= 0 {
				add(c.names[col.slot])
			} else {
				add(col.name)
			}
		}
	}
	return dst
}

// keysQuery is the drill-down search of a key set "a, b": a=* AND b=*
// (events having at least these fields; names that need quoting in a
// search are left out).
func keysQuery(keys string) string {
	var parts []string
	for _, k := range strings.Split(keys, ", ") {
		if k != "" && strings.IndexFunc(k, func(c rune) bool {
			return !(c == '_' || c == '.' || c == '-' || c == '@' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z'))
		}) < 0 {
			parts = append(parts, k+"=*")
		}
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, " AND ")
}
