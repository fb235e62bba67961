package parse

import (
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Options gives parsers the context a line lacks. The zero value reads
// zoneless times in UTC and infers missing years from the wall clock.
type Options struct {
	// Location is the zone of timestamps without one (RFC 3164 syslog,
	// BIND, squid-less text); nil means UTC.
	Location *time.Location
	// Now is the reference for year inference; nil means the wall clock,
	// read at most every 100 ms (time.Now per line cost ~110 ns).
	Now func() time.Time
}

func (o Options) syslog() SyslogOptions { return SyslogOptions{Location: o.Location, Now: o.Now} }

func (o Options) times() TimeOptions { return TimeOptions{Location: o.Location, Now: o.Now} }

// builtins is the registry of built-in parsers, one line per format.
var builtins = []struct {
	name string
	new  func(o Options) Parser
}{
	{"syslog", func(o Options) Parser {
		so := o.syslog()
		return parserFunc{"syslog", func(s string, ev *event.Event) error { return parseSyslog(s, ev, so) }}
	}},
	{"cef", func(o Options) Parser {
		so := o.syslog()
		return cefParser{so}
	}},
	{"leef", func(o Options) Parser {
		so := o.syslog()
		return parserFunc{"leef", func(s string, ev *event.Event) error { return parseLEEF(s, ev, so) }}
	}},
	{"kv", func(Options) Parser { return parserFunc{"kv", parseKV} }},
	{"logfmt", func(Options) Parser { return parserFunc{"logfmt", parseLogfmt} }},
	{"auditd", func(Options) Parser { return parserFunc{"auditd", parseAudit} }},
	{"access", func(Options) Parser { return parserFunc{"access", parseAccess} }},
	{"squid", func(Options) Parser { return parserFunc{"squid", parseSquid} }},
	{"bind", func(o Options) Parser {
		to := o.times()
		return parserFunc{"bind", func(s string, ev *event.Event) error { return parseBIND(s, ev, to) }}
	}},
	{"json", func(Options) Parser { return jsonParser{"json", parseJSON} }},
	{"windows", func(Options) Parser { return jsonParser{"windows", parseWindows} }},
	{"cloudtrail", func(Options) Parser { return jsonParser{"cloudtrail", parseCloudTrail} }},
	{"auto", NewAuto},
}

// Lookup returns the built-in parser with the name (see Names) with
// default Options.
func Lookup(name string) (Parser, bool) { return New(name, Options{}) }

// New returns the built-in parser with the name, configured by opts.
func New(name string, opts Options) (Parser, bool) {
	for _, b := range builtins {
		if b.name == name {
			return b.new(opts), true
		}
	}
	return nil, false
}

// Names lists the built-in parser names.
func Names() []string {
	out := make([]string, len(builtins))
	for i, b := range builtins {
		out[i] = b.name
	}
	return out
}
