package parse

import (
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// The sshd and PAM message parsers as they were before session 7 (frozen,
// test only): TestParseSSHDDiff and FuzzParseSSHDDiff keep the current
// parseSSHD / parsePAM byte-equal to them.

// authFields adds the common authentication fields.
func authFieldsRef(ev *event.Event, action, outcome, user, ip, port string) {
	add(ev, "event.category", "authentication")
	add(ev, "event.action", action)
	add(ev, "event.outcome", outcome)
	if user != "" {
		add(ev, "user.name", user)
	}
	if isIP(ip) {
		add(ev, "source.ip", ip)
		if _, ok := atoi(port); ok {
			add(ev, "source.port", port)
		}
	}
}

// parseSSHD reads the sshd messages that matter for security.
func parseSSHDRef(msg string, ev *event.Event) {
	switch {
	case strings.HasPrefix(msg, "Accepted "):
		method, rest := cutWord(msg[len("Accepted "):])
		user, ip, port := forFromPortRef(rest)
		add(ev, "ssh.method", method)
		authFieldsRef(ev, "ssh_login", outcomeSuccess, user, ip, port)
		if k := strings.Index(msg, ": "); k > 0 && k > len(msg)-120 {
			if _, fp := cutWord(msg[k+2:]); fp != "" {
				add(ev, "ssh.key_fingerprint", fp)
			}
		}
	case strings.HasPrefix(msg, "Failed "):
		method, rest := cutWord(msg[len("Failed "):])
		user, ip, port := forFromPortRef(rest)
		add(ev, "ssh.method", method)
		authFieldsRef(ev, "ssh_login", outcomeFailure, user, ip, port)
	case strings.HasPrefix(msg, "Invalid user "):
		user, ip, port := userIPPortRef(msg[len("Invalid user "):], " from ")
		authFieldsRef(ev, "ssh_invalid_user", outcomeFailure, user, ip, port)
	case strings.HasPrefix(msg, "error: maximum authentication attempts exceeded "):
		user, ip, port := forFromPortRef(msg[len("error: maximum authentication attempts exceeded "):])
		authFieldsRef(ev, "ssh_login", outcomeFailure, user, ip, port)
	case strings.HasPrefix(msg, "Connection closed by "), strings.HasPrefix(msg, "Disconnected from "),
		strings.HasPrefix(msg, "Received disconnect from "), strings.HasPrefix(msg, "Connection reset by "):
		rest := trimUserPrefixRef(disconnectRestRef(msg))
		user, ip, port := "", "", ""
		if strings.HasPrefix(rest, "user ") {
			user, ip, port = userIPPortRef(rest[len("user "):], " ")
		} else {
			ip, port = ipPortRef(rest)
		}
		authFieldsRef(ev, "ssh_disconnect", "", user, ip, port)
	case strings.HasPrefix(msg, "Connection from "):
		ip, port := ipPortRef(msg[len("Connection from "):])
		authFieldsRef(ev, "ssh_connect", "", "", ip, port)
	default:
		parsePAMRef(msg, ev)
	}
}

// disconnectPrefixes start the sshd disconnect messages. Each ends with
// its first " by " or " from ", so what follows it is what cutting the
// disconnectRest returns msg after its disconnect prefix.
func disconnectRestRef(msg string) string {
	for _, p := range disconnectPrefixes {
		if strings.HasPrefix(msg, p) {
			return msg[len(p):]
		}
	}
	_, rest := cutAt(msg, " by ", " from ")
	return rest
}

// trimUserPrefix drops "authenticating " / "invalid " before "user X".
func trimUserPrefixRef(s string) string {
	for _, p := range [...]string{"authenticating ", "invalid "} {
		if strings.HasPrefix(s, p) {
			return s[len(p):]
		}
	}
	return s
}

// forFromPort reads "for [invalid user ]USER from IP port PORT ...".
func forFromPortRef(s string) (user, ip, port string) {
	s = strings.TrimPrefix(s, "for ")
	s = strings.TrimPrefix(s, "invalid user ")
	return userIPPortRef(s, " from ")
}

// userIPPort reads "USER<sep>IP port PORT".
func userIPPortRef(s, sep string) (user, ip, port string) {
	i := strings.Index(s, sep)
	if i < 0 {
		return strings.TrimSpace(s), "", ""
	}
	user = s[:i]
	ip, port = ipPortRef(s[i+len(sep):])
	if sep == " " && ip == "" {
		return "", "", ""
	}
	return user, ip, port
}

// ipPort reads "IP[ port PORT]".
func ipPortRef(s string) (string, string) {
	ip, rest := cutWord(s)
	ip = strings.TrimSuffix(ip, ":")
	if !isIP(ip) {
		return "", ""
	}
	if strings.HasPrefix(rest, "port ") {
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
func parsePAMRef(msg string, ev *event.Event) {
	if !strings.HasPrefix(msg, "pam_") {
		return
	}
	_, rest := cutAt(msg, "): ")
	parsePAMRestRef(rest, ev)
}

// parsePAMRest reads a PAM message after its "pam_unix(svc:type): " prefix
// (older systems put the module in the tag: "sshd(pam_unix)[1]: ...").
func parsePAMRestRef(rest string, ev *event.Event) {
	switch {
	case strings.HasPrefix(rest, "authentication failure;"):
		user, ip := kvWord(rest, " user="), kvWord(rest, " rhost=")
		authFieldsRef(ev, "pam_auth", outcomeFailure, user, ip, "")
	case strings.HasPrefix(rest, "session opened for user "):
		// "for user root by alice(uid=1000)": alice acts as root.
		target, by := cutAt(rest[len("session opened for user "):], " by ")
		user, effective := sessionUser(target), sessionUser(by)
		if effective != "" {
			user, effective = effective, user
		}
		authFieldsRef(ev, "session_opened", outcomeSuccess, user, "", "")
		add(ev, "user.effective.name", effective)
	case strings.HasPrefix(rest, "session closed for user "):
		user := sessionUser(rest[len("session closed for user "):])
		authFieldsRef(ev, "session_closed", outcomeSuccess, user, "", "")
	}
}
