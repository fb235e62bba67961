package query

// Top returns the N most frequent value combinations of Fields: "| top 10
// user" counts by user and keeps the 10 largest _count. With "by g" the
// rows' numeric g is summed instead of counting rows ("| count by user |
// top 10 user by _count").
type Top struct {
	N      int
	Fields []string
	By     string
}

func init() { registerStage(parseTop, "top") }

func parseTop(p *parser, _ string, _ int) Stage {
	t := &Top{N: 10}
	p.skipSpace()
	if c := p.peek(); c >= '0' && c <= '9' {
		n, ok := p.intArg("the number of rows")
		if !ok {
			return nil
		}
		t.N = n
	}
	if t.Fields = p.fieldNames("top"); t.Fields == nil {
		return nil
	}
	if p.acceptKeyword("by") {
		f, ok := p.ident()
		if !ok {
			p.errorf(p.pos, "expected a field name after by, got %s", p.describeNext())
			return nil
		}
		t.By = canonicalField(f)
	}
	return t
}

func (t *Top) String() string {
	s := "top " + itoa(t.N) + " " + fieldList(t.Fields)
	if t.By != "" {
		s += " by " + fieldName(t.By)
	}
	return s
}

func (t *Top) compile(c *compiler) ([]op, error) {
	call := AggCall{Func: "count"}
	if t.By != "" {
		call = AggCall{Func: "sum", Field: t.By, As: t.By}
	}
	out := call.outName()
	return compileStages(c, &Aggregate{Aggs: []AggCall{call}, By: t.Fields},
		&Sort{Keys: []SortKey{{Field: out}}}, &Limit{N: t.N})
}

// CountFrequent counts by Fields and returns the 100 most frequent
// combinations, largest first, in _approxcount (Sumo Logic's
// count_frequent; the counts here are exact).
type CountFrequent struct{ Fields []string }

func init() { registerStage(parseCountFrequent, "count_frequent") }

func parseCountFrequent(p *parser, _ string, _ int) Stage {
	f := p.fieldNames("count_frequent")
	if f == nil {
		return nil
	}
	return &CountFrequent{Fields: f}
}

func (f *CountFrequent) String() string { return "count_frequent " + fieldList(f.Fields) }

func (f *CountFrequent) compile(c *compiler) ([]op, error) {
	return compileStages(c, &Aggregate{Aggs: []AggCall{{Func: "count", As: "_approxcount"}}, By: f.Fields},
		&Sort{Keys: []SortKey{{Field: "_approxcount"}}}, &Limit{N: 100})
}

func compileStages(c *compiler, stages ...Stage) ([]op, error) {
	var out []op
	for _, s := range stages {
		ops, err := s.compile(c)
		if err != nil {
			return nil, err
		}
		out = append(out, ops...)
	}
	return out, nil
}
