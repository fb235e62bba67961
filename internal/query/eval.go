package query

import (
	"fmt"
	"regexp"
	"time"
)

// record is one row as the stages see it: values addressed by slot (a
// field name resolved to a small integer at compile time). rowCtx (a row of
// a decoded block) and tableRow (a row after aggregation) implement it.
type record interface {
	get(slot int) val
	set(slot int, v val)
	// del removes the field (get then returns null).
	del(slot int)
	timeNs() int64
}

// compiler resolves field names to slots and holds what compiled stages
// share.
type compiler struct {
	slots map[string]int
	names []string
	now   time.Time
	opts  *Options
	// need collects the columns read by what is being compiled (nil after
	// the first aggregation, whose output is not read from blocks).
	need *colNeed
}

func newCompiler(opts *Options) *compiler {
	c := &compiler{slots: map[string]int{}, opts: opts}
	now := time.Now
	if opts != nil && opts.Now != nil {
		now = opts.Now
	}
	c.now = now()
	// Fixed slots for metadata, so the executor can address them directly.
	for _, n := range metaSlotNames {
		c.outSlot(n)
	}
	return c
}

// Slots of metadata fields (newCompiler registers them first, in order).
const (
	slotTime = iota
	slotRaw
	slotSource
	slotHost
	slotCategory
	slotPartition
	slotReceived
	numMetaSlots
)

var metaSlotNames = []string{"_time", "_raw", "_source", "_host", "_category", "_partition", "_received"}

// slot returns the slot of a field the compiled code reads.
func (c *compiler) slot(name string) int {
	if c.need != nil {
		c.need.add(name)
	}
	return c.outSlot(name)
}

// outSlot returns the slot of a field the compiled code only writes.
func (c *compiler) outSlot(name string) int {
	if s, ok := c.slots[name]; ok {
		return s
	}
	s := len(c.names)
	c.slots[name] = s
	c.names = append(c.names, name)
	return s
}

// evalFn computes a value for a record.
type evalFn func(r record) val

func (c *compiler) compileExpr(x ValueExpr) (evalFn, error) {
	switch x := x.(type) {
	case *Lit:
		v := strVal(x.Value)
		if x.Num {
			n, _ := parseNum(x.Value)
			v = numVal(n)
		}
		return func(record) val { return v }, nil
	case *Ref:
		s := c.slot(x.Name)
		return func(r record) val { return r.get(s) }, nil
	case *RegexLit:
		return nil, fmt.Errorf("a /regexp/ is only allowed after matches or as a function argument")
	case *Unary:
		return c.compileUnary(x)
	case *Binary:
		return c.compileBinary(x)
	case *InList:
		return c.compileInList(x)
	case *Call:
		return c.compileCall(x)
	}
	return nil, fmt.Errorf("BUG: unknown expression %T", x)
}

func (c *compiler) compileUnary(x *Unary) (evalFn, error) {
	f, err := c.compileExpr(x.X)
	if err != nil {
		return nil, err
	}
	if x.Op == "not" {
		return func(r record) val { return boolVal(!f(r).truthy()) }, nil
	}
	return func(r record) val {
		n, ok := f(r).num()
		if !ok {
			return nullVal
		}
		return numVal(-n)
	}, nil
}

func (c *compiler) compileBinary(x *Binary) (evalFn, error) {
	l, err := c.compileExpr(x.L)
	if err != nil {
		return nil, err
	}
	if x.Op == "matches" {
		return c.compileMatches(l, x.R)
	}
	r, err := c.compileExpr(x.R)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case "and":
		return func(rec record) val { return boolVal(l(rec).truthy() && r(rec).truthy()) }, nil
	case "or":
		return func(rec record) val { return boolVal(l(rec).truthy() || r(rec).truthy()) }, nil
	case "=":
		return func(rec record) val { return boolVal(equalVals(l(rec), r(rec))) }, nil
	case "!=":
		return func(rec record) val {
			a, b := l(rec), r(rec)
			if a.isNull() || b.isNull() {
				return boolVal(a.isNull() != b.isNull())
			}
			return boolVal(!equalVals(a, b))
		}, nil
	case "<", ">", "<=", ">=":
		op := x.Op
		return func(rec record) val {
			c, ok := compareVals(l(rec), r(rec))
			if !ok {
				return boolVal(false)
			}
			return boolVal(cmpHolds(op, c))
		}, nil
	case "+":
		return func(rec record) val {
			a, b := l(rec), r(rec)
			x, okx := a.num()
			y, oky := b.num()
			if okx && oky {
				return numVal(x + y)
			}
			if a.isNull() || b.isNull() {
				return nullVal
			}
			return strVal(a.str() + b.str()) // Sumo: + concatenates text
		}, nil
	case "-", "*", "/", "%":
		op := x.Op[0]
		return func(rec record) val {
			x, okx := l(rec).num()
			y, oky := r(rec).num()
			if !okx || !oky {
				return nullVal
			}
			return arith(op, x, y)
		}, nil
	}
	return nil, fmt.Errorf("BUG: unknown operator %q", x.Op)
}

func cmpHolds(op string, c int) bool {
	switch op {
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	case "=":
		return c == 0
	case "!=":
		return c != 0
	}
	return false
}

func arith(op byte, x, y float64) val {
	switch op {
	case '-':
		return numVal(x - y)
	case '*':
		return numVal(x * y)
	case '/':
		if y == 0 {
			return nullVal
		}
		return numVal(x / y)
	case '%':
		if y == 0 {
			return nullVal
		}
		return numVal(float64(int64(x) % int64(y)))
	}
	return nullVal
}

func (c *compiler) compileMatches(l evalFn, pat ValueExpr) (evalFn, error) {
	var re *regexp.Regexp
	var err error
	switch p := pat.(type) {
	case *RegexLit:
		re, err = regexp.Compile(p.Pattern)
	case *Lit:
		re, err = globRegexp(p.Value, false)
	default:
		return nil, fmt.Errorf("matches needs a /regexp/ or a \"glob\"")
	}
	if err != nil {
		return nil, fmt.Errorf("compile matches: %w", err)
	}
	return func(r record) val {
		v := l(r)
		if v.isNull() {
			return boolVal(false)
		}
		return boolVal(re.MatchString(v.str()))
	}, nil
}

func (c *compiler) compileInList(x *InList) (evalFn, error) {
	l, err := c.compileExpr(x.X)
	if err != nil {
		return nil, err
	}
	list := make([]evalFn, len(x.List))
	for i, a := range x.List {
		if list[i], err = c.compileExpr(a); err != nil {
			return nil, err
		}
	}
	return func(r record) val {
		v := l(r)
		for _, f := range list {
			if equalVals(v, f(r)) {
				return boolVal(true)
			}
		}
		return boolVal(false)
	}, nil
}
