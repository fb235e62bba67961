package query

import "slices"

// rowCtx is a row of a decoded block as the stages see it: reads fall
// through to the block's columns unless a stage has set the slot. One
// rowCtx per worker is reused for every row, so the per-row path does not
// allocate.
type rowCtx struct {
	bv    *blockView
	i     int
	ov    []val // by slot; kUnset falls through to the block
	dirty []int // slots set on this row, to reset cheaply
	extra []tcol
	keep  []bool // after "fields a, b": the visible slots
	order []int  // and their output order
}

func newRowCtx(bv *blockView, nslots int) *rowCtx {
	return &rowCtx{bv: bv, ov: make([]val, nslots)}
}

func (r *rowCtx) reset(i int) {
	for _, s := range r.dirty {
		r.ov[s] = val{}
	}
	r.dirty = r.dirty[:0]
	r.extra = r.extra[:0]
	r.keep, r.order = nil, nil
	r.i = i
}

func (r *rowCtx) timeNs() int64 { return r.bv.b.Times[r.i] }

func (r *rowCtx) get(slot int) val {
	if v := r.ov[slot]; v.k != kUnset {
		return v
	}
	if r.keep != nil && !r.keep[slot] {
		return nullVal
	}
	if slot == slotTime {
		return timeVal(r.bv.b.Times[r.i])
	}
	s, ok := r.bv.value(slot, r.i)
	if !ok {
		return nullVal
	}
	return strVal(s)
}

func (r *rowCtx) set(slot int, v val) {
	if r.ov[slot].k == kUnset {
		r.dirty = append(r.dirty, slot)
	}
	if v.k == kUnset {
		v = nullVal
	}
	r.ov[slot] = v
}

func (r *rowCtx) del(slot int) { r.set(slot, nullVal) }

// setExtra sets a field that no compiled stage refers to by slot.
func (r *rowCtx) setExtra(name string, v val) {
	for i := range r.extra {
		if r.extra[i].name == name {
			r.extra[i].v = v
			return
		}
	}
	r.extra = append(r.extra, tcol{slot: -1, name: name, v: v})
}

func (tr *tableRow) setExtra(name string, v val) {
	for i := range tr.cols {
		if tr.cols[i].slot < 0 && tr.cols[i].name == name {
			tr.cols[i].v = v
			return
		}
	}
	tr.cols = append(tr.cols, tcol{slot: -1, name: name, v: v})
}

// project hides every slot not in keep, and the fields without a slot.
func (r *rowCtx) project(keep []bool, order []int) {
	for _, s := range r.dirty {
		if !keep[s] {
			r.ov[s] = nullVal
		}
	}
	r.extra = r.extra[:0]
	r.keep, r.order = keep, order
}

// materialize copies the row out of the block: metadata first, then the
// block's fields in order, then fields set by stages.
func (r *rowCtx) materialize() *tableRow {
	bv := r.bv
	tr := &tableRow{t: bv.b.Times[r.i], cols: make([]tcol, 0, numMetaSlots+len(bv.fields)+len(r.dirty)+len(r.extra))}
	if r.order != nil {
		// After "fields a, b": the listed fields in order, then fields set
		// by later stages.
		for _, s := range r.order {
			if v := r.get(s); !v.isNull() {
				tr.cols = append(tr.cols, tcol{slot: s, v: v})
			}
		}
		for _, s := range r.dirty {
			if v := r.ov[s]; !v.isNull() && !slices.Contains(r.order, s) {
				tr.cols = append(tr.cols, tcol{slot: s, v: v})
			}
		}
		tr.cols = append(tr.cols, r.extra...)
		return tr
	}
	for s := 0; s < numMetaSlots; s++ {
		if s == slotReceived {
			continue
		}
		if v := r.get(s); !v.isNull() {
			tr.cols = append(tr.cols, tcol{slot: s, v: v})
		}
	}
	for j, col := range bv.fields {
		s := bv.colSlot[j]
		var v val
		switch {
		case s >= 0:
			v = r.get(s)
		case r.keep != nil || !col.Has(r.i):
			continue
		default:
			v = strVal(col.Values[r.i])
		}
		if !v.isNull() {
			tr.cols = append(tr.cols, tcol{slot: s, name: col.Name, v: v})
		}
	}
	for _, s := range r.dirty {
		if s < numMetaSlots || bv.slotIsCol[s] {
			continue
		}
		if v := r.ov[s]; !v.isNull() {
			tr.cols = append(tr.cols, tcol{slot: s, v: v})
		}
	}
	tr.cols = append(tr.cols, r.extra...)
	return tr
}
