package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/logreduce"
	"github.com/mamori/mamori/internal/store"
)

// Options bound and scope one Run. The zero value searches all time and
// every partition with no limits, on every core.
type Options struct {
	From, To int64 // Unix ns; From inclusive, To exclusive; 0 = unbounded
	// Limit caps the rows emitted (0: no cap).
	Limit int
	// MaxMemoryBytes bounds aggregation state and buffered rows (0: none).
	MaxMemoryBytes int64
	// Timeout bounds the run time (0: only ctx).
	Timeout time.Duration
	// MaxRows bounds the rows scanned (0: none).
	MaxRows int64
	// Now is the clock for now() and relative times (nil: time.Now).
	Now func() time.Time
	// Partitions is the scope the caller may read; nil means all.
	Partitions []string
	// Workers is the number of goroutines decoding blocks (0: GOMAXPROCS).
	Workers int
	// Lookup returns the named table for the lookup stage; nil means no
	// tables (lookup fails). Unknown names should wrap ErrNoLookup.
	Lookup func(name string) (*LookupTable, error)
	// LogReduceCorrections are the users' corrections of logreduce
	// signatures, applied by | logreduce and | logcompare (nil: none).
	LogReduceCorrections *logreduce.Corrections
	// Scope is AND-ed into the search expression of the query and of
	// every subquery it runs (the caller's data scope, e.g. role filters);
	// nil means none.
	Scope Expr
}

// Stats reports the work of one Run.
type Stats struct {
	store.Stats
	RowsMatched int64         `json:"rows_matched"`
	RowsEmitted int64         `json:"rows_emitted"`
	Took        time.Duration `json:"took_ns"`
}

// Run executes q over snap and calls emit for each result row, in order,
// from one goroutine at a time. An error from emit stops the query and is
// returned. Budget errors wrap ErrBudget; a timeout wraps
// context.DeadlineExceeded.
func Run(ctx context.Context, snap store.Snapshot, q *Query, opts Options, emit func(Row) error) (Stats, error) {
	start := time.Now()
	var st Stats
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	q, err := prepareQuery(ctx, snap, q, &opts)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && opts.Timeout > 0 {
			err = fmt.Errorf("query ran longer than its time budget of %s: %w", opts.Timeout, err)
		}
		return st, err
	}
	p, err := newPlan(q, &opts)
	if err != nil {
		return st, fmt.Errorf("plan query: %w", err)
	}
	ex := &executor{p: p, opts: &opts, emit: emit, budget: &budget{maxBytes: opts.MaxMemoryBytes, maxRows: opts.MaxRows}}
	err = ex.runBaseline(ctx, snap, q)
	if err == nil {
		err = ex.run(ctx, snap, &st)
	}
	st.RowsMatched = ex.matched.Load()
	st.RowsScanned = ex.scanned.Load()
	st.Took = time.Since(start)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && opts.Timeout > 0 {
		err = fmt.Errorf("query ran longer than its time budget of %s: %w", opts.Timeout, err)
	}
	return st, err
}

type executor struct {
	p       *plan
	opts    *Options
	emit    func(Row) error
	budget  *budget
	matched atomic.Int64
	scanned atomic.Int64
	emitted int64
	taken   int64 // rows taken by the streaming limit
}

func (ex *executor) run(ctx context.Context, snap store.Snapshot, st *Stats) error {
	var refs []store.BlockRef
	if !ex.p.empty {
		var sst store.Stats
		var err error
		refs, sst, err = ex.blocks(ctx, snap) // in scope; parts the store sums first (run_sums.go)
		if err != nil {
			return fmt.Errorf("list blocks: %w", err)
		}
		st.Stats = sst
	}
	if ex.p.agg != nil {
		rows, err := ex.runAgg(ctx, refs)
		if err != nil {
			return err
		}
		return ex.finish(ctx, rows, st)
	}
	if ex.p.stream {
		err := ex.runStream(ctx, refs)
		st.RowsEmitted = ex.emitted
		return err
	}
	rows, err := ex.collectRows(ctx, refs)
	if err != nil {
		return err
	}
	return ex.finish(ctx, rows, st)
}

// inScope drops blocks outside the allowed partitions (the store already
// should; this keeps the scope a guarantee of the query engine too).
func (ex *executor) inScope(refs []store.BlockRef) []store.BlockRef {
	if ex.opts.Partitions == nil {
		return refs
	}
	out := refs[:0:0]
	for _, r := range refs {
		if slices.Contains(ex.opts.Partitions, r.Partition()) {
			out = append(out, r)
		}
	}
	return out
}

// finish runs the table stages and emits the rows.
func (ex *executor) finish(ctx context.Context, rows []*tableRow, st *Stats) error {
	var err error
	for _, o := range ex.p.post {
		if rows, err = o.run(ctx, rows); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if ex.opts.Limit > 0 && ex.emitted >= int64(ex.opts.Limit) {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ex.emit(r.toRow(ex.p.c.names)); err != nil {
			return err
		}
		ex.emitted++
	}
	st.RowsEmitted = ex.emitted
	return nil
}

func (ex *executor) workers() int {
	if ex.opts.Workers > 0 {
		return ex.opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// worker holds one goroutine's scratch space.
type worker struct {
	ex    *executor
	id    int // 0..workers-1
	bv    blockView
	rc    *rowCtx
	sel   []int
	shard aggShard
	rows  []*tableRow // rows kept by this worker (sort with limit)

	// Dictionary decisions of the current block (run_dict.go).
	keep    []bool // candidate rows; nil: all
	keepBuf []bool
	allow   []bool              // by code: the value passes
	counts  []int64             // by code
	byDict  *store.DictColumn   // the count-by column, when coded
	local   localCounter        // per-block counts of a plain column
	iota    []int               // 0, 1, 2, ...: the selection of every row
	pre     preFilter           // dictFilter of the current block (filter)
	ips     []*store.IPv4Column // term columns read as numbers (ipColumns)
	nip     needleIPs           // term columns searched by address (ipColumns)
	td      termDictCols        // term columns decided on their dictionaries (termDicts)
	// compact: scan may return the selected rows as a compact block
	// (run_needle.go), for callers that read only those rows; of them,
	// at most takeLimit (0: all), the first ones or the last ones
	// (takeAsc false), when no row stage can drop a row.
	compact   bool
	takeAsc   bool
	takeLimit int
}

func (ex *executor) newWorker() *worker {
	w := &worker{ex: ex}
	w.bv.tv.budget = ex.budget
	w.rc = newRowCtx(&w.bv, len(ex.p.c.names))
	return w
}

// scan loads the block, evaluates the search on the rows inside the time
// range and returns the matching rows, with the columns the stages need
// loaded too. On blocks that store columns coded (store.ColumnLoader), the
// conjuncts on such columns are decided by value first, and a block
// without candidates is not loaded at all.
func (w *worker) scan(ref store.BlockRef) ([]int, error) {
	p := w.ex.p
	m := p.m
	w.byDict = nil
	w.nip.marked, w.td.n = false, 0
	var skip, ipNames []string
	var lopts store.LoadOptions
	needleTimes := false // the search loads no times: the row load decodes them
	cl, _ := ref.(store.ColumnLoader)
	if cl == nil {
		w.keep = nil
	} else {
		var ok bool
		var err error
		m, skip, ok, err = w.filter(cl, ref.Rows())
		w.pre = preFilter{}
		if err != nil || !ok {
			if err != nil {
				err = fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
			}
			return nil, err
		}
		if p.dict.pruneField {
			lopts.PruneCols, lopts.PruneTexts = w.pruneList(ref), p.dict.terms
			// IPv4 columns are decided by number, not loaded as text.
			if ipNames, err = w.ipColumns(ref, lopts.PruneCols); err != nil {
				return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
			}
			lopts.PruneCols = without(lopts.PruneCols, ipNames)
			if slices.Contains(ipNames, event.FieldRaw) {
				// Without _raw (whose templates would read the pruned
				// columns' bodies), dictionary columns are decided on
				// their distinct values.
				dictNames, err := w.termDicts(ref, lopts.PruneCols)
				if err != nil {
					return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
				}
				lopts.PruneCols = without(lopts.PruneCols, dictNames)
				ipNames = append(ipNames, dictNames...)
			}
			skip = append(skip, ipNames...)
		}
		lopts.NoTimes = p.dict.noTimes && inRange(ref, w.ex.opts.From, w.ex.opts.To)
		if !lopts.NoTimes && w.needleNoTimes(ref) {
			lopts.NoTimes, needleTimes = true, true
		}
		if p.dict.byName != "" {
			if w.byDict, err = cl.LoadDict(p.dict.byName); err != nil {
				return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
			}
		}
	}
	cols1 := without(loadList(ref, &p.matchNeed, false, nil), skip)
	if p.matchNeed.all {
		// Bare terms read _raw and the field columns, never the other
		// metadata columns: those the search does not name are left to
		// the stages.
		n := len(skip)
		for _, c := range cols1 {
			if c != event.FieldRaw && isMetaColumn(c) && !slices.Contains(p.matchNeed.names, c) {
				skip = append(skip, c)
			}
		}
		if len(skip) > n {
			cols1 = without(cols1, skip[n:])
		}
	}
	// The search reads _raw as templates, decided mostly without
	// expanding them (tmpl_view.go); the rows the stages read are
	// expanded after the search.
	lopts.RawTemplates = p.rawTemplates && slices.Contains(cols1, event.FieldRaw)
	b, err := loadRef(ref, cl, cols1, lopts)
	if err != nil {
		return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
	}
	tmpl := b.Raw
	if tmpl != nil {
		defer func() {
			w.bv.tv.tmpl = nil
			tmpl.Release()
		}()
	}
	var pruned []string
	if len(lopts.PruneCols) > 0 {
		// The pruned columns are left out of b: load them with the stages'.
		for _, n := range lopts.PruneCols {
			if b.Column(n) == nil {
				pruned = append(pruned, n)
			}
		}
		skip = append(skip, pruned...)
		cols1 = without(cols1, skip)
		lopts.PruneCols, lopts.PruneTexts = nil, nil
	}
	pruned = append(pruned, ipNames...) // the term matcher reads them too
	lopts.RawTemplates = false
	if err := checkBlock(b); err != nil {
		return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
	}
	lo, hi := 0, b.Rows()
	if b.Times != nil {
		lo, hi = timeRange(b.Times, w.ex.opts.From, w.ex.opts.To)
	}
	w.ex.scanned.Add(int64(hi - lo))
	if err := w.ex.budget.addRows(int64(hi - lo)); err != nil {
		return nil, err
	}
	w.bv.reset(b, p.c.names, p.c.slots)
	w.bv.ref = ref
	if len(ipNames) > 0 {
		w.bv.ips = append(w.bv.ips, w.ips...)
	}
	w.bv.setTemplates(tmpl, pruned)
	nf := w.addTermDicts()
	sel, ok := w.needleRows(m, nf, lo, hi)
	if !ok {
		sel = w.selectRows(m, lo, hi)
	}
	w.dropTermDicts(nf)
	if err := w.bv.tv.err; err != nil {
		return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
	}
	if len(sel) == 0 {
		return nil, nil
	}
	need2 := loadList(ref, &p.stageNeed, p.outAll, cols1)
	if w.byDict != nil {
		need2 = without(need2, []string{p.dict.byName})
	}
	sel = w.taken(sel)
	if rl := w.rowLoader(ref, len(sel), b.Rows()); rl != nil {
		sel, err = w.compactRows(ref, rl, b, tmpl, sel, need2)
		if err != nil {
			return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		return sel, nil
	}
	if needleTimes {
		// Too many rows for a row-wise load: the stages read their times.
		tb, err := loadRef(ref, cl, []string{}, store.LoadOptions{})
		if err == nil && len(tb.Times) != b.Rows() {
			err = fmt.Errorf("%d times for %d rows", len(tb.Times), b.Rows())
		}
		if err != nil {
			return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		b.Times, lopts.NoTimes = tb.Times, false // the view reads b's
	}
	if tmpl != nil && (p.outAll || p.stageNeed.all || slices.Contains(p.stageNeed.names, event.FieldRaw)) {
		// The stages read _raw: expand the selected rows.
		col, err := tmpl.Column(sel)
		if err != nil {
			return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		b.Cols = append(b.Cols, col)
		skip = append(skip, event.FieldRaw) // out of order: sort the columns
		if len(need2) == 0 {
			b.Cols = slices.Clip(b.Cols)
			sortCols(b, ref, p)
			w.bv.reset(b, p.c.names, p.c.slots)
		}
	}
	if len(need2) > 0 {
		lopts.Rows = sel // the stages read only the matching rows
		b2, err := loadRef(ref, cl, need2, lopts)
		if err != nil {
			return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		if b2.Rows() != b.Rows() {
			return nil, fmt.Errorf("load block %s/%s/%s: %d rows, then %d", ref.Partition(), ref.Source(), ref.Host(), b.Rows(), b2.Rows())
		}
		if err := checkBlock(b2); err != nil {
			return nil, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		b.Cols = append(b.Cols, b2.Cols...)
		if len(skip) > 0 {
			sortCols(b, ref, p)
		}
		w.bv.reset(b, p.c.names, p.c.slots)
	}
	return sel, nil
}

// sortCols puts the columns of b in the order of the plain path, which
// loads nothing later: event rows list fields in load order.
func sortCols(b *store.Block, ref store.BlockRef, p *plan) {
	order := loadList(ref, &p.matchNeed, false, nil)
	order = append(order, loadList(ref, &p.stageNeed, p.outAll, order)...)
	slices.SortStableFunc(b.Cols, func(x, y store.Column) int {
		return cmp.Compare(colIndex(order, x.Name), colIndex(order, y.Name))
	})
}

// colIndex returns the position of name in order, or len(order).
func colIndex(order []string, name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

// allRows returns 0, 1, ..., n-1: a view of w.iota, kept by the worker.
func (w *worker) allRows(n int) []int {
	for i := len(w.iota); i < n; i++ {
		w.iota = append(w.iota, i)
	}
	return w.iota[:n]
}

// selectRows returns the rows in [lo, hi) that are candidates (w.keep) and
// match m. The result is valid until the next call.
func (w *worker) selectRows(m matcher, lo, hi int) []int {
	all := isTrue(m)
	if all && w.keep == nil {
		return w.allRows(hi)[lo:] // fast path: every row
	}
	if sel, ok := w.selectBySkeletons(m, lo, hi); ok {
		return sel // _raw skeletons: decided per skeleton (tmpl_count.go)
	}
	w.sel = w.sel[:0]
	for i := lo; i < hi; i++ {
		if (w.keep == nil || w.keep[i]) && (all || m.matchRow(&w.bv, i)) {
			w.sel = append(w.sel, i)
		}
	}
	return w.sel
}

// loadRef loads cols with the options when the block supports them.
func loadRef(ref store.BlockRef, cl store.ColumnLoader, cols []string, o store.LoadOptions) (*store.Block, error) {
	if cl != nil {
		return cl.LoadWith(cols, o)
	}
	return ref.Load(cols)
}

// checkBlock rejects a block whose columns do not have one value per row,
// so a store bug fails the query instead of crashing the server.
func checkBlock(b *store.Block) error {
	for i := range b.Cols {
		c := &b.Cols[i]
		if len(c.Values) != b.Rows() || (c.Absent != nil && len(c.Absent) != b.Rows()) {
			return fmt.Errorf("malformed block: column %q has %d values for %d rows", c.Name, len(c.Values), b.Rows())
		}
	}
	return nil
}

// recoverWorker turns a panic in a query goroutine into an error: a bug
// must fail one query, not the server.
func recoverWorker(errp *error) {
	if r := recover(); r != nil {
		*errp = fmt.Errorf("BUG: query worker panic: %v\n%s", r, debug.Stack())
	}
}

// loadList returns the columns to load for need, leaving out the ones in
// have; all (or need.all) means every column of the block.
func loadList(ref store.BlockRef, need *colNeed, all bool, have []string) []string {
	out := []string{}
	add := func(n string) {
		switch n {
		case event.FieldTime, event.FieldSource, event.FieldHost, event.FieldPartition:
			return
		}
		if !slices.Contains(have, n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if all || need.all {
		for _, n := range ref.Columns() {
			if n != event.FieldReceived {
				add(n)
			}
		}
	}
	for _, n := range need.names {
		add(n)
	}
	return out
}

func safeCall(w *worker, i int, fn func(w *worker, i int) error) (err error) {
	defer recoverWorker(&err)
	return fn(w, i)
}

// timeRange returns the rows of ascending times inside [from, to).
func timeRange(times []int64, from, to int64) (int, int) {
	lo, hi := 0, len(times)
	if from != 0 && len(times) > 0 && times[0] < from {
		lo = sort.Search(len(times), func(i int) bool { return times[i] >= from })
	}
	if to != 0 && len(times) > 0 && times[len(times)-1] >= to {
		hi = sort.Search(len(times), func(i int) bool { return times[i] >= to })
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// applyPrefix runs the row stages on the current row.
func (w *worker) applyPrefix() bool {
	for _, o := range w.ex.p.prefix {
		if !o.apply(w.rc) {
			return false
		}
	}
	return true
}

// forEachBlock runs fn on every block on ex.workers() goroutines, each with
// its own worker; the first error cancels the rest. done (optional) runs
// once per worker after its last block.
func (ex *executor) forEachBlock(ctx context.Context, refs []store.BlockRef, fn func(w *worker, i int) error, done func(w *worker)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	n := min(ex.workers(), max(len(refs), 1))
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := ex.newWorker()
			w.id = k
			for {
				i := int(next.Add(1) - 1)
				if i >= len(refs) {
					if done != nil {
						done(w)
					}
					return
				}
				err := ctx.Err()
				if err == nil {
					err = safeCall(w, i, fn)
				}
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// prepareQuery applies the scope and runs the subqueries; child queries
// share ctx (and so the time budget) and opts.
func prepareQuery(ctx context.Context, snap store.Snapshot, q *Query, opts *Options) (*Query, error) {
	q = opts.scoped(q)
	child := *opts
	child.Timeout, child.Limit = 0, 0
	return resolve(ctx, snap, q, &child)
}
