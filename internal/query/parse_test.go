package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCanonical(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		q, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got := q.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, got, want)
		}
		q2, err := Parse(q.String())
		if err != nil {
			t.Fatalf("Parse(%q) (round trip): %v", q.String(), err)
		}
		if d := cmp.Diff(q, q2); d != "" {
			t.Errorf("round trip of %q (-first +second):\n%s", in, d)
		}
	}
	f("", "")
	f("*", "")
	f("error", "error")
	f("  error   fail  ", "error fail")
	f(`"Failed password"`, `"Failed password"`)
	f(`"error"`, "error")
	f("a AND b", "a b")
	f("a and b or c", "a b OR c")
	f("a OR b c", "a OR b c")
	f("(a OR b) c", "(a OR b) c")
	f("NOT a", "NOT a")
	f("!a", "NOT a")
	f("not (a b)", "NOT (a b)")
	f("NOT NOT a", "a")
	f("((a))", "a")
	f("a (b c)", "a b c")
	f("(a OR b) OR c", "a OR b OR c")
	f("user=zack.hill", "user=zack.hill")
	f("user = zack.hill", "user=zack.hill")
	f(`user="zack hill"`, `user="zack hill"`)
	f(`user=="x"`, "user=x")
	f("status>=500 status<600", "status>=500 status<600")
	f("a!=b", "a!=b")
	f("src_ip=10.0.0.0/8", "src_ip=10.0.0.0/8")
	f("path=/api/*", "path=/api/*")
	f(`path="/api/*"`, `path="/api/*"`)
	f("host in (a, b,c)", `host in ("a", "b", "c")`)
	f("host IN (\"a b\")", `host in ("a b")`)
	f("_raw matches /fail(ed)?\\/x/", `_raw matches /fail(ed)?\/x/`)
	f(`path matches "*.php"`, `path matches "*.php"`)
	f("_sourceHost=web-1 _sourceCategory=prod", "_host=web-1 _category=prod")
	f("sha256hash", "sha256hash")
	f(`"203.0.113.77"`, "203.0.113.77")
	f("-15m", "-15m")
	f(`"AND"`, `"AND"`)
	f(`"a \"q\" b"`, `"a \"q\" b"`)
	f("| count", "* | count")
	f("x | count by host", "x | count by host")
	f("x|count by f1,f2", "x | count by f1, f2")
	f("x | count as n by host", "x | count as n by host")
	f("x | count as _count", "x | count")
	f("x | count_distinct(src_ip)", "x | count_distinct(src_ip)")
	f("x | sum(bytes) as total, avg(duration_s) by app", "x | sum(bytes) as total, avg(duration_s) by app")
	f("x | pct(latency, 95)", "x | pct(latency, 95)")
	f("x | limit 10", "x | limit 10")
	f("x | head 5", "x | limit 5")
	f("x | sort by _time asc", "x | sort by _time asc")
	f("x | sort by _count", "x | sort by _count desc")
	f("x | sort _count asc, host", "x | sort by _count asc, host desc")
	f("x | timeslice 1m | count by _timeslice", "x | timeslice 1m | count by _timeslice")
	f("x | timeslice by 60m as hour", "x | timeslice 1h as hour")
	f("x | timeslice 1d as _timeslice", "x | timeslice 1d")
	f("x | timeslice 100 buckets", "x | timeslice 100 buckets")
	f("x | top 10 user", "x | top 10 user")
	f("x | top user by _count", "x | top 10 user by _count")
	f("x | dedup by host", "x | dedup by host")
	f("x | dedup 3 host, user", "x | dedup 3 by host, user")
	f("x | count_frequent a, b", "x | count_frequent a, b")
	f("x | where status >= 500 and method = \"GET\"", `x | where (status >= 500) and (method = "GET")`)
	f("x | where !(a == 1) || b <> 2", "x | where (not (a = 1)) or (b != 2)")
	f("x | where user in (\"a\", \"b\")", `x | where user in ("a", "b")`)
	f("x | where _raw matches /a|b/", "x | where _raw matches /a|b/")
	f("x | where isNull(user)", "x | where isnull(user)")
	f("x | y = a + b * c", "x | y = a + (b * c)")
	f("x | eval y = (a + b) * -c", "x | y = (a + b) * (-c)")
	f("x | y = -1.5e3", "x | y = -1.5e3")
	f("x | y = concat(a, \"-\", tolowercase(b))", `x | y = concat(a, "-", tolowercase(b))`)
	f("x | y = if(a > 1, \"big\", \"small\")", `x | y = if(a > 1, "big", "small")`)
	f("x | y = replace(a, /\\d+/, \"N\")", `x | y = replace(a, /\d+/, "N")`)
	f("x | y = %\"odd name\"", `x | y = %"odd name"`)
	f("x | fields a, b", "x | fields a, b")
	f("x | fields - a", "x | fields - a")
	f(`x | parse "a=* b=*" as a, b nodrop`, `x | parse "a=* b=*" as a, b nodrop`)
	f(`x | parse field=msg "a=*" as a`, `x | parse field=msg "a=*" as a`)
	f(`x | parse regex "(?<ip>\d+)" nodrop`, `x | parse regex "(?<ip>\d+)" nodrop`)
	f(`x | json auto`, `x | json auto`)
	f(`x | json field=doc "a.b", "c" as x, y nodrop`, `x | json field=doc "a.b", "c" as x, y nodrop`)
	f(`x | kv`, `x | kv`)
	f(`x | keyvalue "a", "b" as x, y`, `x | kv "a", "b" as x, y`)
	f(`x | split _raw delim=':' extract 1 as a, 3 as b`, `x | split _raw delim=":" extract 1 as a, 3 as b`)
	f(`x | csv _raw extract 2 as a`, `x | csv _raw extract 2 as a`)
	f("x | transpose row _timeslice column host", "x | transpose row _timeslice column host")
	f(`x | fillmissing timeslice(60m), values("a") in host, user`, `x | fillmissing timeslice(1h), values("a") in host, user`)
	f("x | outlier _count", "x | outlier _count window=10 threshold=3 consecutive=1 direction=+-")
	f("x | outlier _count window=5, threshold=2.5, direction=+ by host", "x | outlier _count window=5 threshold=2.5 consecutive=1 direction=+ by host")
	f("x | pct(a, 50, 99.9)", "x | pct(a, 50), pct(a, 99.9)")
	f("x | tolowercase(user) as u", "x | u = tolowercase(user)")
	f(`x | concat(a, "-", b) as c`, `x | c = concat(a, "-", b)`)
	f(`x | y = a > 1 ? "big" : "small"`, `x | y = if(a > 1, "big", "small")`)
}

func TestParseErrors(t *testing.T) {
	f := func(in string, wantOffset int, wantMsg string) {
		t.Helper()
		_, err := Parse(in)
		if err == nil {
			t.Fatalf("Parse(%q) = nil error, want %q", in, wantMsg)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q) error %T, want *SyntaxError", in, err)
		}
		if se.Offset != wantOffset || !strings.Contains(se.Msg, wantMsg) {
			t.Errorf("Parse(%q) = offset %d %q, want offset %d containing %q", in, se.Offset, se.Msg, wantOffset, wantMsg)
		}
	}
	f("x | cuont", 4, `unknown operator "cuont" — did you mean "count"?`)
	f("x | cuont by host", 4, `did you mean "count"?`)
	f("x | limt 5", 4, `did you mean "limit"?`)
	f("x | frobnicate", 4, `unknown operator "frobnicate"`)
	f("(a b", 4, "expected ')'")
	f("a b)", 3, `unexpected ")"`)
	f(`"abc`, 0, "unterminated string")
	f("a |", 3, "expected an operator")
	f("user=", 5, "expected a value")
	f("x | limit", 9, "expected the number of rows")
	f("x | limit ten", 10, "expected the number of rows")
	f("x | where", 9, "expected an expression")
	f("x | y = lenght(a)", 8, `did you mean "length"?`)
	f("x | y = substring(a)", 8, "takes 2 to 3 arguments")
	f("x | timeslice 5q", 14, "bad duration")
	f("x | count by", 12, "expected a field name")
	f("a matches /(/", 10, "bad regexp")
	f("x | sum()", 4, "sum needs a field")
	f("x | sort by", 11, "expected a field name")
	f("x | limit 5 6", 12, "unexpected")
	f("a AND", 5, "expected a term after AND")
	f("x | join a", 9, `expected (subquery) in join`)
	f("x | save a", 4, `operator "save" is not supported yet`)
	f("x | join (a | cuont) as a, (b) as b on a.x = b.x", 14, `unknown operator "cuont"`)
	f("x | join (a) as a, (b) as a on a.x = b.x", 28, "different names")
	f("[subquery: a | cuont | compose x]", 15, `unknown operator "cuont"`)
	f("[subquery: a | count by x", 0, "is not closed")
	f("x | transaction on s with states a in f results by rows", 51, "results by transactions or results by flow")
	f(`x | parse "abc" as a`, 10, "needs at least one '*'")
	f(`x | parse "a*b*" as a`, 10, "has 2 '*' but 1 field name(s)")
	f(`x | parse regex "(a)"`, 16, "named groups")
}

func TestParseErrorList(t *testing.T) {
	_, err := Parse("x | cuont | limit x | sort by")
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse: error %T %v, want ErrorList", err, err)
	}
	if len(list) != 3 {
		t.Fatalf("Parse: %d errors (%v), want 3", len(list), err)
	}
	for i := 1; i < len(list); i++ {
		if list[i].Offset < list[i-1].Offset {
			t.Errorf("errors not in offset order: %v", err)
		}
	}
}
