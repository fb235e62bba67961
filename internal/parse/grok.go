package parse

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Grok-style patterns: "%{IP:source.ip} %{WORD:method} %{GREEDYDATA:rest}"
// compiled to one RE2 regular expression (no backtracking, linear time).
// %{NAME} matches a named pattern without capturing; %{NAME:field} captures
// into field; %{NAME:field:int} is accepted for compatibility (values stay
// text). Users add patterns (GrokOptions.Patterns) that may refer to others.
// Logstash patterns that need look-around are rewritten for RE2.

// grokBase is the built-in pattern library (a Logstash subset, RE2 syntax).
var grokBase = map[string]string{
	"USERNAME":          `[a-zA-Z0-9._-]+`,
	"USER":              `%{USERNAME}`,
	"EMAILLOCALPART":    `[a-zA-Z0-9!#$%&'*+/=?^_{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_{|}~-]+)*`,
	"EMAILADDRESS":      `%{EMAILLOCALPART}@%{HOSTNAME}`,
	"INT":               `[+-]?[0-9]+`,
	"BASE10NUM":         `[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)`,
	"NUMBER":            `%{BASE10NUM}`,
	"BASE16NUM":         `[+-]?(?:0x)?[0-9A-Fa-f]+`,
	"POSINT":            `[1-9][0-9]*`,
	"NONNEGINT":         `[0-9]+`,
	"WORD":              `\b\w+\b`,
	"NOTSPACE":          `\S+`,
	"SPACE":             `\s*`,
	"DATA":              `.*?`,
	"GREEDYDATA":        `.*`,
	"QUOTEDSTRING":      `"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`,
	"UUID":              `[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}`,
	"MAC":               `(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}|(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4}`,
	"IPV4":              `(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}`,
	"IPV6":              `(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|%{IPV4})?(?:%[0-9A-Za-z]+)?`,
	"IP":                `(?:%{IPV6}|%{IPV4})`,
	"HOSTNAME":          `\b[0-9A-Za-z](?:[0-9A-Za-z-]{0,62})(?:\.[0-9A-Za-z](?:[0-9A-Za-z-]{0,62}))*\.?\b`,
	"IPORHOST":          `(?:%{IP}|%{HOSTNAME})`,
	"HOSTPORT":          `%{IPORHOST}:%{POSINT}`,
	"UNIXPATH":          `(?:/[^/\s?#]*)+`,
	"WINPATH":           `(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+`,
	"PATH":              `(?:%{UNIXPATH}|%{WINPATH})`,
	"URIPROTO":          `[A-Za-z][A-Za-z0-9+.-]+`,
	"URIHOST":           `%{IPORHOST}(?::%{POSINT})?`,
	"URIPATH":           `(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+`,
	"URIPARAM":          `\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*`,
	"URIPATHPARAM":      `%{URIPATH}(?:%{URIPARAM})?`,
	"URI":               `%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?`,
	"MONTH":             `\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|[Aa]pr(?:il)?|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b`,
	"MONTHNUM":          `(?:0?[1-9]|1[0-2])`,
	"MONTHDAY":          `(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])`,
	"DAY":               `(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)`,
	"YEAR":              `[0-9]{2,4}`,
	"HOUR":              `(?:2[0123]|[01]?[0-9])`,
	"MINUTE":            `(?:[0-5][0-9])`,
	"SECOND":            `(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)`,
	"TIME":              `%{HOUR}:%{MINUTE}(?::%{SECOND})?`,
	"DATE_US":           `%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}`,
	"DATE_EU":           `%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}`,
	"ISO8601_TIMEZONE":  `(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))`,
	"TIMESTAMP_ISO8601": `%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?`,
	"DATE":              `%{DATE_US}|%{DATE_EU}`,
	"DATESTAMP":         `%{DATE}[- ]%{TIME}`,
	"SYSLOGTIMESTAMP":   `%{MONTH} +%{MONTHDAY} %{TIME}`,
	"HTTPDATE":          `%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}`,
	"PROG":              `[\x21-\x5a\x5c\x5e-\x7e]+`,
	"SYSLOGPROG":        `%{PROG:process.name}(?:\[%{POSINT:process.pid}\])?`,
	"SYSLOGHOST":        `%{IPORHOST}`,
	"LOGLEVEL":          `(?i:alert|trace|debug|notice|info(?:rmation)?|warn(?:ing)?|err(?:or)?|crit(?:ical)?|fatal|severe|emerg(?:ency)?)`,
	"COMMONAPACHELOG":   `%{IPORHOST:source.address} %{USER:ident} %{USER:user.name} \[%{HTTPDATE:timestamp}\] "(?:%{WORD:http.request.method} %{NOTSPACE:url.original}(?: HTTP/%{NUMBER:http.version})?|%{DATA})" %{NUMBER:http.response.status_code} (?:%{NUMBER:http.response.body.bytes}|-)`,
	"COMBINEDAPACHELOG": `%{COMMONAPACHELOG} %{QUOTEDSTRING:http.request.referrer} %{QUOTEDSTRING:user_agent.original}`,
}

// GrokOptions configures a grok parser. The zero value uses only the
// built-in patterns and takes the time from a captured "timestamp" or
// "time" field.
type GrokOptions struct {
	// Patterns adds or overrides named patterns (NAME -> regexp with %{...}).
	Patterns map[string]string
	// TimeField is the captured field holding the event time; "" means
	// "timestamp", then "time".
	TimeField string
}

type grokParser struct {
	name      string
	res       []*regexp.Regexp
	fields    [][]string // per regexp: field name of each group (SubexpNames order)
	timeField string
}

// maxGrokDepth bounds pattern expansion (and catches cycles).
const maxGrokDepth = 32

var grokRef = regexp.MustCompile(`%\{(\w+)(?::([\w.@\[\]-]+))?(?::(\w+))?\}`)

// NewGrok compiles grok patterns into a parser named name. A line is
// matched against the patterns in order; the first match wins. Every
// problem in every pattern is reported at once.
func NewGrok(name string, patterns []string, opts GrokOptions) (Parser, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("grok %s: no patterns", name)
	}
	lib := func(n string) (string, bool) {
		if p, ok := opts.Patterns[n]; ok {
			return p, true
		}
		p, ok := grokBase[n]
		return p, ok
	}
	gp := &grokParser{name: name, timeField: opts.TimeField}
	var errs []error
	for i, p := range patterns {
		var names []string
		expr, err := grokExpand(p, lib, &names, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("grok %s: pattern %d: %w", name, i+1, err))
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			errs = append(errs, fmt.Errorf("grok %s: pattern %d: %w", name, i+1, err))
			continue
		}
		gp.res = append(gp.res, re)
		gp.fields = append(gp.fields, groupFields(re, names))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return gp, nil
}

// grokGroup prefixes the generated names of capturing groups.
const grokGroup = "__grok"

// grokExpand replaces %{...} references recursively. Capturing references
// become groups named grokGroup+N, where names[N] is their field.
func grokExpand(p string, lib func(string) (string, bool), names *[]string, depth int) (string, error) {
	if depth > maxGrokDepth {
		return "", errors.New("patterns nested too deep (a cycle?)")
	}
	var b strings.Builder
	var errs []error
	last := 0
	for _, m := range grokRef.FindAllStringSubmatchIndex(p, -1) {
		b.WriteString(p[last:m[0]])
		last = m[1]
		pname := p[m[2]:m[3]]
		field := ""
		if m[4] >= 0 {
			field = p[m[4]:m[5]]
		}
		def, ok := lib(pname)
		if !ok {
			errs = append(errs, fmt.Errorf("unknown pattern %%{%s}", pname))
			continue
		}
		if field != "" {
			b.WriteString("(?P<" + grokGroup + strconv.Itoa(len(*names)) + ">")
			*names = append(*names, field)
		} else {
			b.WriteString("(?:")
		}
		sub, err := grokExpand(def, lib, names, depth+1)
		if err != nil {
			errs = append(errs, fmt.Errorf("in %%{%s}: %w", pname, err))
			continue
		}
		b.WriteString(sub)
		b.WriteString(")")
	}
	b.WriteString(p[last:])
	return b.String(), errors.Join(errs...)
}

// groupFields maps each capture group of re to a field name: generated
// groups to their %{NAME:field}, user groups (?P<x>...) to x, unnamed
// groups to "" (not kept).
func groupFields(re *regexp.Regexp, names []string) []string {
	sub := re.SubexpNames()
	out := make([]string, len(sub))
	for i, n := range sub {
		if k, ok := strings.CutPrefix(n, grokGroup); ok {
			if j, err := strconv.Atoi(k); err == nil && j < len(names) {
				out[i] = names[j]
			}
			continue
		}
		out[i] = n
	}
	return out
}

func (g *grokParser) Name() string { return g.name }

func (g *grokParser) Parse(line []byte, ev *event.Event) error {
	s := rawString(line, ev)
	for k, re := range g.res {
		idx := re.FindStringSubmatchIndex(s)
		if idx == nil {
			continue
		}
		n0 := len(ev.Fields)
		for gi, name := range g.fields[k] {
			a, b := idx[2*gi], idx[2*gi+1]
			if name == "" || a < 0 || hasFrom(ev, n0, name) {
				continue // first capture of a name wins
			}
			add(ev, name, s[a:b])
		}
		g.setTime(s, ev, n0)
		fillHost(ev, n0)
		return nil
	}
	return errAt("grok "+g.name, 0, "no pattern matched")
}

func (g *grokParser) setTime(s string, ev *event.Event, n0 int) {
	keys := [...]string{g.timeField, "timestamp", "time"}
	for _, k := range keys {
		if k == "" {
			continue
		}
		v, ok := fieldFrom(ev, n0, k)
		if !ok {
			continue
		}
		if ns, ok := ParseTimeValue(v); ok {
			ev.Time = ns
			return
		}
		if ns, ok := DetectTime(v); ok {
			ev.Time = ns
			return
		}
	}
}
