package query

// Fields keeps only the named fields ("| fields a, b") or drops them
// ("| fields - a, b").
type Fields struct {
	Names []string
	Drop  bool
}

func init() { registerStage(parseFields, "fields") }

func parseFields(p *parser, _ string, _ int) Stage {
	f := &Fields{}
	if p.accept("-") {
		f.Drop = true
	} else {
		p.accept("+")
	}
	f.Names = p.fieldNames("fields")
	if f.Names == nil {
		return nil
	}
	return f
}

func (f *Fields) String() string {
	if f.Drop {
		return "fields - " + fieldList(f.Names)
	}
	return "fields " + fieldList(f.Names)
}

func (f *Fields) compile(c *compiler) ([]op, error) {
	slots := make([]int, len(f.Names))
	for i, n := range f.Names {
		slots[i] = c.slot(n)
	}
	return []op{&fieldsOp{slots: slots, drop: f.Drop}}, nil
}

type fieldsOp struct {
	slots []int
	drop  bool
	keep  []bool // built by prepare once every slot exists
}

// prepare builds the keep set; the executor calls it after compiling.
func (o *fieldsOp) prepare(nslots int) {
	o.keep = make([]bool, nslots)
	for _, s := range o.slots {
		o.keep[s] = true
	}
}

func (o *fieldsOp) apply(r record) bool {
	if o.drop {
		for _, s := range o.slots {
			r.del(s)
		}
		return true
	}
	switch r := r.(type) {
	case *rowCtx:
		r.project(o.keep, o.slots)
	case *tableRow:
		r.keepOnly(o.slots)
	}
	return true
}
