package parse

import (
	"encoding/hex"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Linux audit records, as written to audit.log or forwarded by
// audisp-syslog: "[node=N ]type=T msg=audit(EPOCH.MS:SERIAL): k=v ...
// msg='k=v ...'". Keys are kept as written (type, pid, uid, exe, ...); the
// nested msg='...' of user-space records is parsed too. Hex-encoded values
// (proctitle, EXECVE arguments, USER_CMD cmd) are decoded into ECS
// process.command_line / process.title. The record time and serial come from
// msg=audit(...): ev.Time and audit.serial.

var auditMap = newFieldMap(
	mapping{"type", "event.action", ecsLower},
	mapping{"node", "host.name", ecsText},
	mapping{"pid", "process.pid", ecsInt},
	mapping{"ppid", "process.parent.pid", ecsInt},
	mapping{"exe", "process.executable", ecsText},
	mapping{"comm", "process.name", ecsText},
	mapping{"cwd", "process.working_directory", ecsText},
	mapping{"uid", "user.id", ecsInt},
	mapping{"auid", "user.audit.id", ecsInt},
	mapping{"euid", "user.effective.id", ecsInt},
	mapping{"acct", "user.name", ecsText},
	mapping{"addr", "source.ip", ecsIP},
	mapping{"hostname", "source.domain", ecsText},
	mapping{"terminal", "process.tty.name", ecsText},
	mapping{"name", "file.path", ecsText},
)

// parseAudit is the "auditd" parser for one audit.log record.
func parseAudit(s string, ev *event.Event) error {
	if !strings.HasPrefix(s, "type=") && !strings.HasPrefix(s, "node=") {
		return errAt("auditd", 0, "want type= or node=")
	}
	n0 := len(ev.Fields)
	if !parseAuditBody(s, ev) {
		ev.Fields = ev.Fields[:n0]
		return errAt("auditd", 0, "no msg=audit(...) stamp")
	}
	return nil
}

// parseAuditBody adds the fields of an audit record and reports whether it
// had a msg=audit(...) stamp.
func parseAuditBody(s string, ev *event.Event) bool {
	n0 := len(ev.Fields)
	stamped := false
	var argv []string // EXECVE a0..aN, in order
	nested := false
	var fn func(k, v string)
	fn = func(k, v string) {
		switch {
		case k == "msg" && strings.HasPrefix(v, "audit("):
			stamped = auditStamp(v, ev) || stamped
			return
		case k == "msg" && !nested:
			nested = true // user-space records nest msg='k=v ...' one level deep
			scanKV(v, fn, nil)
			return
		case k == "proctitle":
			if d, ok := auditHex(v, true); ok {
				add(ev, "process.title", d)
				add(ev, "process.command_line", d)
				return
			}
		case k == "cmd":
			if d, ok := auditHex(v, false); ok {
				add(ev, "cmd", d)
				add(ev, "process.command_line", d)
				return
			}
		case len(k) >= 2 && k[0] == 'a' && isDigit(k[1]) && allDigits(k[1:]):
			if d, ok := auditHex(v, false); ok {
				v = d
			}
			argv = append(argv, v)
		}
		add(ev, k, v)
	}
	scanKV(s, fn, nil)
	if len(argv) > 0 && auditType(ev, n0) == "EXECVE" {
		add(ev, "process.command_line", strings.Join(argv, " "))
	}
	if res := auditResult(ev, n0); res != "" {
		add(ev, "event.outcome", res)
	}
	normalize(ev, n0, auditMap)
	return stamped
}

// auditStamp reads "audit(1516547213.981:100002):" into ev.Time and
// audit.serial.
func auditStamp(v string, ev *event.Event) bool {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "audit("), ":")
	v = strings.TrimSuffix(v, ")")
	ts, serial, ok := strings.Cut(v, ":")
	if !ok {
		return false
	}
	ns, ok := ParseTimeValue(ts)
	if !ok {
		return false
	}
	ev.Time = ns
	add(ev, "audit.serial", serial)
	return true
}

// auditHex decodes an all-hex audit value (even length, upper-case hex as
// auditd writes it). nulSep turns NUL separators (proctitle) into spaces.
func auditHex(v string, nulSep bool) (string, bool) {
	if len(v) < 2 || len(v)%2 != 0 || len(v) > 1<<16 {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isDigit(c) && (c < 'A' || c > 'F') {
			return "", false
		}
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return "", false
	}
	for i := range b {
		if b[i] == 0 && nulSep {
			b[i] = ' '
		}
	}
	return strings.TrimRight(string(b), " \x00"), true
}

func auditType(ev *event.Event, n0 int) string {
	for i := n0; i < len(ev.Fields); i++ {
		if ev.Fields[i].Name == "type" {
			return ev.Fields[i].Value
		}
	}
	return ""
}

// auditResult maps res=success|failed and success=yes|no to an ECS outcome.
func auditResult(ev *event.Event, n0 int) string {
	for i := n0; i < len(ev.Fields); i++ {
		f := ev.Fields[i]
		switch {
		case f.Name == "res" && (f.Value == "success" || f.Value == "1"):
			return outcomeSuccess
		case f.Name == "res" && (f.Value == "failed" || f.Value == "0"):
			return outcomeFailure
		case f.Name == "success" && f.Value == "yes":
			return outcomeSuccess
		case f.Name == "success" && f.Value == "no":
			return outcomeFailure
		}
	}
	return ""
}
