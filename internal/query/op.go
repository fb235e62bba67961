package query

import (
	"context"
	"github.com/mamori/mamori/internal/jsonstr"

	"github.com/mamori/mamori/internal/event"
)

// Stage is one pipe stage of a Query. Each stage type lives in its own
// op_<name>.go file with its parser (registered with registerStage) and its
// compiled operator.
type Stage interface {
	// String returns the canonical text of the stage (without the pipe).
	String() string
	// compile prepares the stage; it returns one or more operators, each a
	// rowOp, aggOp or tableOp.
	compile(c *compiler) ([]op, error)
}

// op is a compiled stage: a rowOp, an aggOp or a tableOp.
type op interface{}

// rowOp transforms one row at a time; it runs inside the parallel workers,
// before the first aggregation. apply returns false to drop the row. It
// must be safe for concurrent use (per-row scratch goes in the record).
type rowOp interface {
	apply(r record) bool
}

// aggOp aggregates rows into groups: each worker fills its own shard and
// the shards are merged once at the end, so the per-row path takes no lock.
type aggOp interface {
	newShard(b *budget) aggShard
	// result merges the shards and returns the group rows.
	result(shards []aggShard) ([]*tableRow, error)
}

type aggShard interface {
	add(r record) error
}

// tableOp works on the whole (usually small) table of rows after an
// aggregation, or on the buffered event rows (sort, limit, dedup, ...).
type tableOp interface {
	run(ctx context.Context, rows []*tableRow) ([]*tableRow, error)
}

// rowTableOp runs a rowOp over a table.
type rowTableOp struct{ r rowOp }

func (o rowTableOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	out := rows[:0]
	for i, r := range rows {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if o.r.apply(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// tableRow is a materialized row: ordered, typed values. Fields that no
// compiled stage references have slot -1 and keep their name.
type tableRow struct {
	t    int64
	cols []tcol
}

type tcol struct {
	slot int
	name string
	v    val
}

func (r *tableRow) timeNs() int64 { return r.t }

func (r *tableRow) get(slot int) val {
	for i := range r.cols {
		if r.cols[i].slot == slot {
			return r.cols[i].v
		}
	}
	return nullVal
}

func (r *tableRow) set(slot int, v val) {
	for i := range r.cols {
		if r.cols[i].slot == slot {
			r.cols[i].v = v
			return
		}
	}
	r.cols = append(r.cols, tcol{slot: slot, v: v})
}

func (r *tableRow) del(slot int) {
	for i := range r.cols {
		if r.cols[i].slot == slot {
			r.cols = append(r.cols[:i], r.cols[i+1:]...)
			return
		}
	}
}

// keepOnly keeps the columns of the slots in order, in that order.
func (r *tableRow) keepOnly(order []int) {
	out := make([]tcol, 0, len(order))
	for _, s := range order {
		for _, c := range r.cols {
			if c.slot == s {
				out = append(out, c)
				break
			}
		}
	}
	r.cols = out
}

// Row is one result row: ordered name/value pairs. Event rows start with
// _time, _raw, _source, _host, _partition; aggregation rows hold the group
// fields then the aggregates.
type Row []event.Field

// Get returns the value of the named field.
func (r Row) Get(name string) (string, bool) {
	for _, f := range r {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// toRow converts a tableRow to its output form.
func (r *tableRow) toRow(names []string) Row {
	out := make(Row, 0, len(r.cols))
	for _, c := range r.cols {
		if c.v.isNull() {
			continue
		}
		n := c.name
		if c.slot >= 0 {
			n = names[c.slot]
		}
		out = append(out, event.Field{Name: n, Value: c.v.str()})
	}
	return out
}

// approxBytes estimates the memory a row holds, for the memory budget.
func (r *tableRow) approxBytes() int64 {
	n := int64(48 + 56*cap(r.cols))
	for _, c := range r.cols {
		n += int64(len(c.v.s))
	}
	return n
}

// MarshalJSON writes the row as one JSON object with its keys in order.
// Event turns an event row back into an event: _time, _raw and the
// metadata columns into their places, every other column into a field.
func (r Row) Event() event.Event {
	var ev event.Event
	for _, f := range r {
		switch f.Name {
		case event.FieldTime:
			ev.Time, _ = event.ParseTime(f.Value) // rows carry RFC 3339 times
		case event.FieldRaw, event.FieldSource, event.FieldHost, event.FieldCategory, event.FieldPartition:
			ev.Set(f.Name, f.Value)
		default:
			ev.Fields = append(ev.Fields, f)
		}
	}
	return ev
}

func (r Row) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil), nil
}

// AppendJSON appends the row as a JSON object to dst.
func (r Row) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, f := range r {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.Name)
		dst = append(dst, ':')
		dst = appendJSONString(dst, f.Value)
	}
	return append(dst, '}')
}

func appendJSONString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }
