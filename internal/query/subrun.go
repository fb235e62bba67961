package query

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Stages that run a whole query over the rows reaching them (join) turn
// the rows back into events and search them with a MemSource, so a
// subquery can use every operator, aggregations included.

// rowsToEvents converts table rows to events; names maps slots to names.
func rowsToEvents(rows []*tableRow, names []string) []event.Event {
	evs := make([]event.Event, len(rows))
	for i, r := range rows {
		e := &evs[i]
		e.Time = r.t
		for _, c := range r.cols {
			if c.v.isNull() {
				continue
			}
			n := c.name
			if c.slot >= 0 {
				n = names[c.slot]
			}
			s := c.v.str()
			switch n {
			case event.FieldTime, event.FieldReceived:
			case event.FieldRaw:
				e.Raw = s
			case event.FieldSource:
				e.Source = s
			case event.FieldHost:
				e.Host = s
			case event.FieldCategory:
				e.Category = s
			case event.FieldPartition:
				e.Partition = s
			default:
				e.Fields = append(e.Fields, event.Field{Name: n, Value: s})
			}
		}
	}
	return evs
}

// runOnRows runs q over rows. The rows already passed the outer query's
// time range, partitions and scope, so the child run gets none of them
// again (a row without _partition would otherwise fall out of scope); it
// keeps the memory and row budgets, the clock and the lookup tables.
func runOnRows(ctx context.Context, q *Query, rows []*tableRow, names []string, opts *Options) ([]Row, error) {
	src := NewMemSource(rowsToEvents(rows, names), MemOptions{})
	child := Options{MaxMemoryBytes: opts.MaxMemoryBytes, MaxRows: opts.MaxRows, Now: opts.Now, Workers: 1, Lookup: opts.Lookup}
	var out []Row
	_, err := Run(ctx, src, q, child, func(r Row) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// rowTime returns the _time of an output row in Unix ns (0 when absent).
func rowTime(r Row) int64 {
	s, ok := r.Get(event.FieldTime)
	if !ok {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

// newTableRow builds a row from named values, using the slots compiled
// stages know the names by.
func newTableRow(c *compiler, t int64, fields []event.Field) *tableRow {
	r := &tableRow{t: t, cols: make([]tcol, 0, len(fields)+1)}
	r.cols = append(r.cols, tcol{slot: slotTime, v: timeVal(t)})
	for _, f := range fields {
		slot, ok := c.slots[f.Name]
		if !ok {
			slot = -1
		}
		r.cols = append(r.cols, tcol{slot: slot, name: f.Name, v: strVal(f.Value)})
	}
	return r
}
