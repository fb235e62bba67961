package query

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mamori/mamori/internal/store"
)

// blockRows returns the matching rows of one block through the row stages,
// in the query's time order, at most limit (0: all).
func (w *worker) blockRows(ref store.BlockRef, asc bool, limit int) ([]*tableRow, error) {
	w.compact, w.takeAsc, w.takeLimit = true, asc, limit // the rows are read once, here
	if bk, ok := ref.(store.BodyKeeper); ok {
		// The search and the row-wise load of its rows read the same
		// chunks: each checked and decompressed once.
		ref = bk.WithBodies(&w.td.bodies)
	}
	sel, err := w.scan(ref)
	w.td.bodies.Release() // the rows are copies
	w.compact, w.takeLimit = false, 0
	if err != nil || len(sel) == 0 {
		return nil, err
	}
	var out []*tableRow
	var acct memAcct
	acct.b = w.ex.budget
	take := func(i int) (bool, error) {
		w.rc.reset(i)
		if !w.applyPrefix() {
			return true, nil
		}
		r := w.rc.materialize()
		out = append(out, r)
		if err := acct.add(r.approxBytes()); err != nil {
			return false, err
		}
		return limit == 0 || len(out) < limit, nil
	}
	if asc {
		for _, i := range sel {
			if more, err := take(i); err != nil || !more {
				if err != nil {
					return nil, err
				}
				break
			}
		}
	} else {
		for j := len(sel) - 1; j >= 0; j-- {
			if more, err := take(sel[j]); err != nil || !more {
				if err != nil {
					return nil, err
				}
				break
			}
		}
	}
	if err := w.ex.budget.add(acct.pending); err != nil {
		return nil, err
	}
	w.ex.matched.Add(int64(len(out)))
	return out, nil
}

// collectRows gathers every matching row (for table stages such as sort
// or dedup), sorted in the query's time order. When the first table stage
// is a sort with a limit, each worker keeps only its best rows.
func (ex *executor) collectRows(ctx context.Context, refs []store.BlockRef) ([]*tableRow, error) {
	var mu sync.Mutex
	var all []*tableRow
	asc := ex.p.asc
	var top *sortOp
	if len(ex.p.post) > 0 {
		if s, ok := ex.p.post[0].(*sortOp); ok && s.limit > 0 {
			top = s
			s.timeOrder = 1
			if asc {
				s.timeOrder = -1
			}
		}
	}
	err := ex.forEachBlock(ctx, refs, func(w *worker, i int) error {
		rows, err := w.blockRows(refs[i], asc, 0)
		if err != nil || len(rows) == 0 {
			return err
		}
		if top != nil {
			w.rows = append(w.rows, rows...)
			if len(w.rows) > 4*top.limit+1024 {
				w.rows = top.topN(w.rows)
			}
			return nil
		}
		mu.Lock()
		all = append(all, rows...)
		mu.Unlock()
		return nil
	}, func(w *worker) {
		mu.Lock()
		all = append(all, w.rows...)
		mu.Unlock()
	})
	if errors.Is(err, ErrBudget) {
		return nil, fmt.Errorf("buffer event rows for %s (add a limit, or aggregate first): %w", ex.p.bufferedBy(), err)
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool {
		if asc {
			return all[i].t < all[j].t
		}
		return all[i].t > all[j].t
	})
	return all, nil
}

// runStream emits event rows in time order while blocks are still being
// read: blocks are read in order of their newest (or oldest) time, in
// parallel with a bounded look-ahead, and a row is emitted once no unread
// block can hold a row before it. With a limit the query stops as soon as
// the limit is reached.
func (ex *executor) runStream(ctx context.Context, refs []store.BlockRef) error {
	p := ex.p
	asc := p.asc
	refs = append([]store.BlockRef(nil), refs...)
	if asc {
		sort.SliceStable(refs, func(i, j int) bool { return refs[i].MinTime() < refs[j].MinTime() })
	} else {
		sort.SliceStable(refs, func(i, j int) bool { return refs[i].MaxTime() > refs[j].MaxTime() })
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		rows []*tableRow
		err  error
	}
	nw := min(ex.workers(), max(len(refs), 1))
	results := make([]chan result, len(refs))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	window := make(chan struct{}, 2*nw)
	jobs := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := range refs {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := ex.newWorker()
			for i := range jobs {
				if ctx.Err() != nil {
					results[i] <- result{err: ctx.Err()}
					continue
				}
				var rows []*tableRow
				err := safeCall(w, i, func(w *worker, i int) error {
					var err error
					rows, err = w.blockRows(refs[i], asc, p.limit)
					return err
				})
				results[i] <- result{rows: rows, err: err}
			}
		}()
	}
	defer wg.Wait()
	defer cancel()

	pend := &rowHeap{asc: asc}
	for i := range refs {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-window
		if r.err != nil {
			return r.err
		}
		for _, row := range r.rows {
			heap.Push(pend, row)
		}
		// Rows beyond the frontier cannot be preceded by unread rows.
		var frontier int64
		last := i == len(refs)-1
		if !last {
			if asc {
				frontier = refs[i+1].MinTime()
			} else {
				frontier = refs[i+1].MaxTime()
			}
		}
		for pend.Len() > 0 {
			top := pend.rows[0]
			if !last && ((asc && top.t >= frontier) || (!asc && top.t <= frontier)) {
				break
			}
			heap.Pop(pend)
			if done, err := ex.emitRow(ctx, top); done || err != nil {
				return err
			}
		}
	}
	return nil
}

// emitRow takes one row in order, runs the stages after the limit and
// emits it; it reports whether the query is done.
func (ex *executor) emitRow(ctx context.Context, r *tableRow) (bool, error) {
	if err := ctx.Err(); err != nil {
		return true, err
	}
	ex.taken++
	keep := true
	for _, o := range ex.p.after {
		if keep = o.apply(r); !keep {
			break
		}
	}
	if keep {
		if err := ex.emit(r.toRow(ex.p.c.names)); err != nil {
			return true, err
		}
		ex.emitted++
	}
	return (ex.p.limit > 0 && ex.taken >= int64(ex.p.limit)) ||
		(ex.opts.Limit > 0 && ex.emitted >= int64(ex.opts.Limit)), nil
}

// rowHeap orders rows newest first (or oldest first when asc).
type rowHeap struct {
	rows []*tableRow
	asc  bool
}

func (h *rowHeap) Len() int { return len(h.rows) }
func (h *rowHeap) Less(i, j int) bool {
	if h.asc {
		return h.rows[i].t < h.rows[j].t
	}
	return h.rows[i].t > h.rows[j].t
}
func (h *rowHeap) Swap(i, j int) { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(x any)    { h.rows = append(h.rows, x.(*tableRow)) }
func (h *rowHeap) Pop() any {
	r := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return r
}

// bufferedBy names the stages that make the query buffer event rows.
func (p *plan) bufferedBy() string {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, st := range p.q.Stages {
		switch st := st.(type) {
		case *Sort:
			add("sort")
		case *Dedup:
			add("dedup")
		case *Join:
			add("join")
		case *Transaction:
			add("transaction")
		case *ParseRegex:
			if st.Multi {
				add("parse regex multi")
			}
		}
	}
	if len(names) == 0 {
		return "the table stages"
	}
	return strings.Join(names, ", ")
}
