package parse

import (
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// IBM QRadar Log Event Extended Format, alone or inside syslog:
//
//	LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v...
//	LEEF:2.0|Vendor|Product|Version|EventID|DelimiterChar|k=v<D>k=v...
//
// Header fields become leef.version, leef.vendor, leef.product,
// leef.product_version, leef.event_id; attribute keys are kept as written.
// The LEEF 2.0 delimiter is one character or its hex form ("x09", "0x5E").
// The time comes from devTime (epoch ms, RFC 3339 or "Mmm dd yyyy
// hh:mm:ss"), else from the syslog header.

var leefHeaderNames = [...]string{"leef.version", "leef.vendor", "leef.product", "leef.product_version", "leef.event_id"}

var leefMap = newFieldMap(
	mapping{"leef.vendor", "observer.vendor", ecsText},
	mapping{"leef.product", "observer.product", ecsText},
	mapping{"leef.event_id", "event.code", ecsText},
	mapping{"src", "source.ip", ecsIP},
	mapping{"dst", "destination.ip", ecsIP},
	mapping{"srcPort", "source.port", ecsInt},
	mapping{"dstPort", "destination.port", ecsInt},
	mapping{"srcPreNAT", "source.ip", ecsIP},
	mapping{"srcPostNAT", "source.nat.ip", ecsIP},
	mapping{"dstPostNAT", "destination.nat.ip", ecsIP},
	mapping{"proto", "network.transport", ecsLower},
	mapping{"usrName", "user.name", ecsText},
	mapping{"identSrc", "source.ip", ecsIP},
	mapping{"identHostName", "host.name", ecsText},
	mapping{"sev", "event.severity", ecsInt},
	mapping{"url", "url.full", ecsText},
	mapping{"action", "event.action", ecsText},
	mapping{"srcBytes", "source.bytes", ecsInt},
	mapping{"dstBytes", "destination.bytes", ecsInt},
	mapping{"srcMAC", "source.mac", ecsText},
	mapping{"dstMAC", "destination.mac", ecsText},
)

// parseLEEF is the "leef" parser: a LEEF record alone or inside syslog.
func parseLEEF(s string, ev *event.Event, opts SyslogOptions) error {
	if hasPrefix(s, "LEEF:") {
		return parseLEEFBody(s, ev)
	}
	if i := strings.Index(s, "LEEF:"); i > 0 && i < 512 {
		return parseSyslog(s, ev, opts)
	}
	return errAt("leef", 0, "no LEEF: header")
}

func parseLEEFBody(s string, ev *event.Event) error {
	n0 := len(ev.Fields)
	i := len("LEEF:")
	for k, name := range leefHeaderNames {
		j := indexByteFrom(s, i, '|')
		if j < 0 {
			ev.Fields = ev.Fields[:n0]
			return errAt("leef", i, "header has "+string(rune('0'+k))+" of 5 fields")
		}
		add(ev, name, s[i:j])
		i = j + 1
	}
	delim := byte('\t')
	if hasPrefix(s[len("LEEF:"):], "2") {
		j := indexByteFrom(s, i, '|')
		if j >= 0 && j-i <= 6 {
			if d, ok := leefDelimiter(s[i:j]); ok {
				delim = d
			}
			i = j + 1
		}
	}
	leefAttrs(s[i:], delim, ev)
	if v, ok := fieldFrom(ev, n0, "devTime"); ok {
		if ns, ok := cefTime(v); ok {
			ev.Time = ns
		}
	}
	normalize(ev, n0, leefMap)
	return nil
}

// leefDelimiter reads "^", "x5E" or "0x5E".
func leefDelimiter(d string) (byte, bool) {
	if len(d) == 1 {
		return d[0], true
	}
	d = strings.TrimPrefix(strings.TrimPrefix(d, "0"), "x")
	d = strings.TrimPrefix(d, "X")
	if len(d) != 2 {
		return 0, false
	}
	hi, ok1 := hexVal(d[0])
	lo, ok2 := hexVal(d[1])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case isDigit(c):
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// leefAttrs parses delimiter-separated key=value attributes. Some senders
// use spaces despite announcing tabs: when no delimiter occurs, the
// attributes are read like CEF extensions.
func leefAttrs(s string, delim byte, ev *event.Event) {
	if strings.IndexByte(s, delim) < 0 && strings.Count(s, "=") > 1 {
		cefExtension(s, ev)
		return
	}
	for s != "" {
		part := s
		if j := strings.IndexByte(s, delim); j >= 0 {
			part, s = s[:j], s[j+1:]
		} else {
			s = ""
		}
		if k := strings.IndexByte(part, '='); k > 0 {
			add(ev, part[:k], part[k+1:])
		}
	}
}
