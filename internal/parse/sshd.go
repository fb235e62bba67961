package parse

import (
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Authentication messages of sshd, sudo, su and PAM. Their text is free
// form, so these parsers add ECS fields directly: user.name, source.ip,
// source.port, event.action, event.outcome, event.category, and for sudo
// user.effective.name, process.command_line and process.working_directory.

const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
)

// authFields adds the common authentication fields.
func authFields(ev *event.Event, action, outcome, user, ip, port string) {
	if !isIP(ip) {
		ip = ""
	}
	authFieldsIP(ev, action, outcome, user, ip, port)
}

// authFieldsIP is authFields for an ip that is "" or already passed isIP
// (ipPort's), so the address is not checked twice.
func authFieldsIP(ev *event.Event, action, outcome, user, ip, port string) {
	add(ev, "event.category", "authentication")
	add(ev, "event.action", action)
	add(ev, "event.outcome", outcome)
	if user != "" {
		add(ev, "user.name", user)
	}
	if ip != "" {
		add(ev, "source.ip", ip)
		if _, ok := atoi(port); ok {
			add(ev, "source.port", port)
		}
	}
}

// parseSSHD reads the sshd messages that matter for security.
func parseSSHD(msg string, ev *event.Event) {
	// The prefixes do not overlap, so their order is only cost: the first
	// byte is tested before each (a prefix compare is a memequal call) and
	// the long "error: ..." one is compared last.
	c := byte(0)
	if msg != "" {
		c = msg[0]
	}
	switch {
	case c == 'A' && strings.HasPrefix(msg, "Accepted "):
		method, rest := cutWord(msg[len("Accepted "):])
		user, ip, port := forFromPort(rest)
		add(ev, "ssh.method", method)
		authFieldsIP(ev, "ssh_login", outcomeSuccess, user, ip, port)
		if k := strings.Index(msg, ": "); k > 0 && k > len(msg)-120 {
			if _, fp := cutWord(msg[k+2:]); fp != "" {
				add(ev, "ssh.key_fingerprint", fp)
			}
		}
	case c == 'F' && strings.HasPrefix(msg, "Failed "):
		method, rest := cutWord(msg[len("Failed "):])
		user, ip, port := forFromPort(rest)
		add(ev, "ssh.method", method)
		authFieldsIP(ev, "ssh_login", outcomeFailure, user, ip, port)
	case c == 'I' && strings.HasPrefix(msg, "Invalid user "):
		user, ip, port := userIPPort(msg[len("Invalid user "):], " from ")
		authFieldsIP(ev, "ssh_invalid_user", outcomeFailure, user, ip, port)
	case disconnectLen(msg) > 0:
		rest := trimUserPrefix(msg[disconnectLen(msg):])
		user, ip, port := "", "", ""
		if len(rest) >= 5 && rest[:5] == "user " { // a constant compare: no memequal call
			user, ip, port = userIPPort(rest[len("user "):], " ")
		} else {
			ip, port = ipPort(rest)
		}
		authFieldsIP(ev, "ssh_disconnect", "", user, ip, port)
	case c == 'C' && strings.HasPrefix(msg, "Connection from "):
		ip, port := ipPort(msg[len("Connection from "):])
		authFieldsIP(ev, "ssh_connect", "", "", ip, port)
	case c == 'e' && strings.HasPrefix(msg, "error: maximum authentication attempts exceeded "):
		user, ip, port := forFromPort(msg[len("error: maximum authentication attempts exceeded "):])
		authFieldsIP(ev, "ssh_login", outcomeFailure, user, ip, port)
	default:
		parsePAM(msg, ev)
	}
}

// disconnectPrefixes start the sshd disconnect messages. Each ends with
// its first " by " or " from ", so what follows it is what cutting the
// message at the earliest of those would give.
var disconnectPrefixes = [...]string{"Connection closed by ", "Disconnected from ", "Received disconnect from ", "Connection reset by "}

// disconnectRest returns msg after its disconnect prefix.
func disconnectRest(msg string) string {
	if n := disconnectLen(msg); n > 0 {
		return msg[n:]
	}
	_, rest := cutAt(msg, " by ", " from ")
	return rest
}

// disconnectLen returns the length of msg's disconnect prefix, 0 when it
// has none: its first byte picks the one or two prefixes to compare.
func disconnectLen(msg string) int {
	if msg == "" {
		return 0
	}
	var p string
	switch msg[0] {
	case 'C':
		p = disconnectPrefixes[0]
		if len(msg) > 11 && msg[11] == 'r' {
			p = disconnectPrefixes[3]
		}
	case 'D':
		p = disconnectPrefixes[1]
	case 'R':
		p = disconnectPrefixes[2]
	default:
		return 0
	}
	if strings.HasPrefix(msg, p) {
		return len(p)
	}
	return 0
}

// trimUserPrefix drops "authenticating " / "invalid " before "user X".
func trimUserPrefix(s string) string {
	for _, p := range [...]string{"authenticating ", "invalid "} {
		if s != "" && s[0] == p[0] && strings.HasPrefix(s, p) {
			return s[len(p):]
		}
	}
	return s
}

// cutWord splits s at its first space.
func cutWord(s string) (string, string) {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// cutAt returns the text before and after the earliest of the separators.
func cutAt(s string, seps ...string) (string, string) {
	best, n := -1, 0
	for _, sep := range seps {
		if i := strings.Index(s, sep); i >= 0 && (best < 0 || i < best) {
			best, n = i, len(sep)
		}
	}
	if best < 0 {
		return s, ""
	}
	return s[:best], s[best+n:]
}

// forFromPort reads "for [invalid user ]USER from IP port PORT ...".
func forFromPort(s string) (user, ip, port string) {
	s = strings.TrimPrefix(s, "for ")
	s = strings.TrimPrefix(s, "invalid user ")
	return userIPPort(s, " from ")
}

// userIPPort reads "USER<sep>IP port PORT".
func userIPPort(s, sep string) (user, ip, port string) {
	i := strings.Index(s, sep)
	if i < 0 {
		return strings.TrimSpace(s), "", ""
	}
	user = s[:i]
	ip, port = ipPort(s[i+len(sep):])
	if sep == " " && ip == "" {
		return "", "", ""
	}
	return user, ip, port
}

// ipPort reads "IP[ port PORT]".
func ipPort(s string) (string, string) {
	ip, rest := cutWord(s)
	ip = strings.TrimSuffix(ip, ":")
	if !isIP(ip) {
		return "", ""
	}
	if len(rest) >= 5 && rest[:5] == "port " { // a constant compare: no memequal call
		p := rest[len("port "):]
		j := 0
		for j < len(p) && isDigit(p[j]) {
			j++
		}
		return ip, p[:j]
	}
	return ip, ""
}

// parsePAM reads pam_unix / pam_sss style messages from any program:
// "pam_unix(sshd:auth): authentication failure; ... rhost=IP  user=U" and
// "pam_unix(S:session): session opened for user U[(uid=N)] by ...".
func parsePAM(msg string, ev *event.Event) {
	if !strings.HasPrefix(msg, "pam_") {
		return
	}
	_, rest := cutAt(msg, "): ")
	parsePAMRest(rest, ev)
}

// parsePAMRest reads a PAM message after its "pam_unix(svc:type): " prefix
// (older systems put the module in the tag: "sshd(pam_unix)[1]: ...").
func parsePAMRest(rest string, ev *event.Event) {
	switch {
	case strings.HasPrefix(rest, "authentication failure;"):
		user, ip := kvWord(rest, " user="), kvWord(rest, " rhost=")
		authFields(ev, "pam_auth", outcomeFailure, user, ip, "")
	case strings.HasPrefix(rest, "session opened for user "):
		// "for user root by alice(uid=1000)": alice acts as root.
		target, by := cutAt(rest[len("session opened for user "):], " by ")
		user, effective := sessionUser(target), sessionUser(by)
		if effective != "" {
			user, effective = effective, user
		}
		authFields(ev, "session_opened", outcomeSuccess, user, "", "")
		add(ev, "user.effective.name", effective)
	case strings.HasPrefix(rest, "session closed for user "):
		user := sessionUser(rest[len("session closed for user "):])
		authFields(ev, "session_closed", outcomeSuccess, user, "", "")
	}
}

// sessionUser returns "alice" from "alice(uid=1000)"; "" for "(uid=0)".
func sessionUser(s string) string {
	u, _ := cutWord(s)
	if i := strings.IndexByte(u, '('); i >= 0 {
		u = u[:i]
	}
	return u
}

// kvWord returns the value of key (like " user=") up to the next space.
func kvWord(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	v, _ := cutWord(s[i+len(key):])
	return v
}

// parseSudo reads "USER : [N incorrect password attempts ; ]TTY=t ; PWD=p ;
// USER=u ; COMMAND=c".
func parseSudo(msg string, ev *event.Event) {
	msg = strings.TrimLeft(msg, " ")
	i := strings.Index(msg, " : ")
	if i <= 0 || strings.IndexByte(msg[:i], ' ') >= 0 {
		parsePAM(msg, ev)
		return
	}
	user := msg[:i]
	rest := msg[i+3:]
	outcome := outcomeSuccess
	if !strings.HasPrefix(rest, "TTY=") && !strings.HasPrefix(rest, "PWD=") {
		outcome = outcomeFailure // "3 incorrect password attempts", "user NOT in sudoers", "command not allowed"
		add(ev, "sudo.error", strings.TrimSpace(firstPart(rest)))
	}
	authFields(ev, "sudo", outcome, user, "", "")
	// A key repeated before COMMAND= (only forged lines do that) keeps its
	// first value: an event never holds a field twice.
	var seen uint8
	once := func(bit uint8, name, value string) {
		if seen&bit == 0 {
			seen |= bit
			add(ev, name, value)
		}
	}
	for rest != "" {
		var part string
		part, rest = cutSemicolon(rest)
		switch {
		case strings.HasPrefix(part, "TTY="):
			once(1, "sudo.tty", part[4:])
		case strings.HasPrefix(part, "PWD="):
			once(2, "process.working_directory", part[4:])
		case strings.HasPrefix(part, "USER="):
			once(4, "user.effective.name", part[5:])
		case strings.HasPrefix(part, "COMMAND="):
			// The command runs to the end: it may itself contain " ; ".
			add(ev, "process.command_line", msg[strings.Index(msg, "COMMAND=")+8:])
			rest = ""
		}
	}
}

func firstPart(s string) string {
	p, _ := cutSemicolon(s)
	return p
}

// cutSemicolon splits "a ; b ; c" into "a" and "b ; c".
func cutSemicolon(s string) (string, string) {
	if i := strings.Index(s, " ; "); i >= 0 {
		return s[:i], s[i+3:]
	}
	return s, ""
}
