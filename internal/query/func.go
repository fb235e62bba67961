package query

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// funcDef is an expression function. Most are plain functions of their
// evaluated arguments (fn); a few compile specially (build).
type funcDef struct {
	minArgs, maxArgs int // maxArgs < 0: variadic
	fn               func(args []val) val
	build            func(c *compiler, args []ValueExpr) (evalFn, error)
}

var funcs map[string]funcDef

func init() {
	num1 := func(f func(float64) float64) funcDef {
		return funcDef{1, 1, func(a []val) val {
			n, ok := a[0].num()
			if !ok {
				return nullVal
			}
			return numVal(f(n))
		}, nil}
	}
	str1 := func(f func(string) val) funcDef {
		return funcDef{1, 1, func(a []val) val {
			if a[0].isNull() {
				return nullVal
			}
			return f(a[0].str())
		}, nil}
	}
	funcs = map[string]funcDef{
		"abs":   num1(math.Abs),
		"ceil":  num1(math.Ceil),
		"floor": num1(math.Floor),
		"sqrt":  num1(math.Sqrt),
		"exp":   num1(math.Exp),
		"log":   num1(math.Log),
		"log10": num1(math.Log10),
		"round": {1, 2, fnRound, nil},
		"pow":   {2, 2, fnPow, nil},
		"tolong": {1, 1, func(a []val) val {
			n, ok := a[0].num()
			if !ok {
				return nullVal
			}
			return numVal(math.Trunc(n))
		}, nil},
		"num": {1, 1, func(a []val) val {
			if n, ok := a[0].num(); ok {
				return numVal(n)
			}
			return nullVal
		}, nil},
		"todouble":    {1, 1, func(a []val) val { n, ok := a[0].num(); return condNum(n, ok) }, nil},
		"tostring":    {1, 1, func(a []val) val { return strOrNull(a[0]) }, nil},
		"concat":      {1, -1, fnConcat, nil},
		"tolowercase": str1(func(s string) val { return strVal(strings.ToLower(s)) }),
		"touppercase": str1(func(s string) val { return strVal(strings.ToUpper(s)) }),
		"trim":        str1(func(s string) val { return strVal(strings.TrimSpace(s)) }),
		"length":      {1, 1, func(a []val) val { return condNum(float64(len(a[0].str())), !a[0].isNull()) }, nil},
		"substring":   {2, 3, fnSubstring, nil},
		"replace":     {3, 3, nil, buildReplace},
		"contains":    {2, 2, func(a []val) val { return boolVal(strings.Contains(a[0].str(), a[1].str())) }, nil},
		"startswith":  {2, 2, func(a []val) val { return boolVal(strings.HasPrefix(a[0].str(), a[1].str())) }, nil},
		"endswith":    {2, 2, func(a []val) val { return boolVal(strings.HasSuffix(a[0].str(), a[1].str())) }, nil},
		"indexof":     {2, 2, func(a []val) val { return numVal(float64(strings.Index(a[0].str(), a[1].str()))) }, nil},
		"if":          {3, 3, fnIf, nil},
		"isnull":      {1, 1, func(a []val) val { return boolVal(a[0].isNull()) }, nil},
		"isempty":     {1, 1, func(a []val) val { return boolVal(a[0].isNull() || a[0].str() == "") }, nil},
		"isblank":     {1, 1, func(a []val) val { return boolVal(a[0].isNull() || strings.TrimSpace(a[0].str()) == "") }, nil},
		"isnumeric":   {1, 1, func(a []val) val { _, ok := a[0].num(); return boolVal(ok && !a[0].isNull()) }, nil},
		"isvalidip":   {1, 1, func(a []val) val { _, err := netip.ParseAddr(a[0].str()); return boolVal(err == nil) }, nil},
		"isvalidipv4": {1, 1, func(a []val) val { ip, err := netip.ParseAddr(a[0].str()); return boolVal(err == nil && ip.Is4()) }, nil},
		"isvalidipv6": {1, 1, func(a []val) val { ip, err := netip.ParseAddr(a[0].str()); return boolVal(err == nil && ip.Is6()) }, nil},
		"isprivateip": {1, 1, func(a []val) val {
			ip, err := netip.ParseAddr(a[0].str())
			return boolVal(err == nil && ip.IsPrivate())
		}, nil},
		"ispublicip":    {1, 1, fnIsPublicIP, nil},
		"ipv4tonumber":  {1, 1, fnIPv4ToNumber, nil},
		"urldecode":     str1(func(s string) val { d, err := url.QueryUnescape(s); return condStr(d, err == nil) }),
		"urlencode":     str1(func(s string) val { return strVal(url.QueryEscape(s)) }),
		"base64decode":  str1(fnBase64Decode),
		"base64encode":  str1(func(s string) val { return strVal(base64.StdEncoding.EncodeToString([]byte(s))) }),
		"format":        {1, -1, fnFormat, nil},
		"null":          {0, 0, func([]val) val { return nullVal }, nil},
		"now":           {0, 0, nil, buildNow},
		"formatdate":    {1, 2, nil, buildFormatDate},
		"isvalidregexp": {1, 1, func(a []val) val { _, err := regexp.Compile(a[0].str()); return boolVal(err == nil) }, nil},
	}
	funcs["lower"] = funcs["tolowercase"]
	funcs["upper"] = funcs["touppercase"]
	funcs["len"] = funcs["length"]
	funcs["tonumber"] = funcs["num"]
	funcs["isnotnull"] = funcDef{1, 1, func(a []val) val { return boolVal(!a[0].isNull()) }, nil}
}

func funcNames() []string {
	names := make([]string, 0, len(funcs))
	for n := range funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func condNum(n float64, ok bool) val {
	if !ok {
		return nullVal
	}
	return numVal(n)
}

func condStr(s string, ok bool) val {
	if !ok {
		return nullVal
	}
	return strVal(s)
}

func strOrNull(v val) val {
	if v.isNull() {
		return nullVal
	}
	return strVal(v.str())
}

func (c *compiler) compileCall(x *Call) (evalFn, error) {
	f, ok := funcs[x.Name]
	if !ok {
		return nil, fmt.Errorf("unknown function %q", x.Name)
	}
	if f.build != nil {
		return f.build(c, x.Args)
	}
	args := make([]evalFn, len(x.Args))
	for i, a := range x.Args {
		var err error
		if args[i], err = c.compileExpr(a); err != nil {
			return nil, err
		}
	}
	fn := f.fn
	switch len(args) {
	case 0:
		return func(record) val { return fn(nil) }, nil
	case 1:
		a0 := args[0]
		return func(r record) val {
			var buf [1]val
			buf[0] = a0(r)
			return fn(buf[:])
		}, nil
	}
	return func(r record) val {
		var buf [4]val
		vs := buf[:0]
		for _, a := range args {
			vs = append(vs, a(r))
		}
		return fn(vs)
	}, nil
}

func fnRound(a []val) val {
	n, ok := a[0].num()
	if !ok {
		return nullVal
	}
	if len(a) == 2 {
		d, ok := a[1].num()
		if !ok {
			return nullVal
		}
		p := math.Pow(10, math.Trunc(d))
		return numVal(math.Round(n*p) / p)
	}
	return numVal(math.Round(n))
}

func fnPow(a []val) val {
	x, ok1 := a[0].num()
	y, ok2 := a[1].num()
	return condNum(math.Pow(x, y), ok1 && ok2)
}

func fnConcat(a []val) val {
	var b strings.Builder
	for _, v := range a {
		b.WriteString(v.str())
	}
	return strVal(b.String())
}

// fnSubstring is substring(s, start[, end]): zero-based, end exclusive,
// both clamped to the string (Sumo Logic semantics).
func fnSubstring(a []val) val {
	if a[0].isNull() {
		return nullVal
	}
	s := a[0].str()
	st, ok := a[1].num()
	if !ok {
		return nullVal
	}
	end := float64(len(s))
	if len(a) == 3 {
		if end, ok = a[2].num(); !ok {
			return nullVal
		}
	}
	i, j := clampIdx(st, len(s)), clampIdx(end, len(s))
	if i >= j {
		return strVal("")
	}
	return strVal(s[i:j])
}

func clampIdx(f float64, n int) int {
	switch {
	case f < 0:
		return 0
	case f > float64(n):
		return n
	}
	return int(f)
}

func fnIf(a []val) val {
	if a[0].truthy() {
		return a[1]
	}
	return a[2]
}

func fnIsPublicIP(a []val) val {
	ip, err := netip.ParseAddr(a[0].str())
	if err != nil {
		return boolVal(false)
	}
	return boolVal(ip.IsGlobalUnicast() && !ip.IsPrivate())
}

func fnIPv4ToNumber(a []val) val {
	ip, err := netip.ParseAddr(a[0].str())
	if err != nil || !ip.Is4() {
		return nullVal
	}
	b := ip.As4()
	return numVal(float64(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])))
}

func fnBase64Decode(s string) val {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return strVal(string(b))
		}
	}
	return nullVal
}

// fnFormat is format(fmt, args...) with printf verbs %s %d %f %x %%, and
// widths/precisions; each argument is converted to the verb's type.
func fnFormat(a []val) val {
	f := a[0].str()
	args := a[1:]
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("0123456789.-+ #", f[j]) >= 0 {
			j++
		}
		if j >= len(f) {
			b.WriteString(f[i:])
			break
		}
		verb := f[j]
		spec := f[i : j+1]
		i = j
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if len(args) == 0 {
			b.WriteString("%!" + string(verb) + "(MISSING)")
			continue
		}
		v := args[0]
		args = args[1:]
		switch verb {
		case 'd', 'x', 'X', 'o', 'b':
			n, _ := v.num()
			fmt.Fprintf(&b, spec, int64(n))
		case 'f', 'e', 'g', 'F', 'E', 'G':
			n, _ := v.num()
			fmt.Fprintf(&b, spec, n)
		default:
			fmt.Fprintf(&b, spec[:len(spec)-1]+"s", v.str())
		}
	}
	return strVal(b.String())
}

func buildNow(c *compiler, _ []ValueExpr) (evalFn, error) {
	// Sumo: now() is epoch milliseconds.
	v := numVal(float64(c.now.UnixMilli()))
	return func(record) val { return v }, nil
}

// buildFormatDate is formatDate(ms [, layout]) with a Go or Java-style
// (yyyy-MM-dd HH:mm:ss) layout; the default is RFC 3339.
func buildFormatDate(c *compiler, args []ValueExpr) (evalFn, error) {
	t, err := c.compileExpr(args[0])
	if err != nil {
		return nil, err
	}
	layout := "2006-01-02T15:04:05.000Z07:00"
	if len(args) == 2 {
		l, ok := args[1].(*Lit)
		if !ok {
			return nil, fmt.Errorf("formatDate: the layout must be a string literal")
		}
		layout = javaLayout(l.Value)
	}
	return func(r record) val {
		v := t(r)
		var ns int64
		switch v.k {
		case kTime:
			ns = v.t
		default:
			ms, ok := v.num()
			if !ok {
				return nullVal
			}
			ns = int64(ms) * 1e6
		}
		return strVal(timeFromNs(ns).Format(layout))
	}, nil
}

func javaLayout(s string) string {
	r := strings.NewReplacer("yyyy", "2006", "yy", "06", "MMM", "Jan", "MM", "01", "dd", "02",
		"HH", "15", "hh", "03", "mm", "04", "ss", "05", "SSS", "000", "a", "PM", "Z", "-0700", "z", "MST")
	return r.Replace(s)
}

// buildReplace is replace(s, target, replacement); a /regexp/ target
// replaces every match ($1 expands groups), a string target every
// occurrence.
func buildReplace(c *compiler, args []ValueExpr) (evalFn, error) {
	s, err := c.compileExpr(args[0])
	if err != nil {
		return nil, err
	}
	repl, err := c.compileExpr(args[2])
	if err != nil {
		return nil, err
	}
	if re, ok := args[1].(*RegexLit); ok {
		rx, err := regexp.Compile(re.Pattern)
		if err != nil {
			return nil, fmt.Errorf("replace: %w", err)
		}
		return func(r record) val {
			v := s(r)
			if v.isNull() {
				return nullVal
			}
			return strVal(rx.ReplaceAllString(v.str(), repl(r).str()))
		}, nil
	}
	target, err := c.compileExpr(args[1])
	if err != nil {
		return nil, err
	}
	return func(r record) val {
		v := s(r)
		if v.isNull() {
			return nullVal
		}
		return strVal(strings.ReplaceAll(v.str(), target(r).str(), repl(r).str()))
	}, nil
}

var _ = strconv.Itoa
