package logreduce

import (
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
		if again := Canonical(Canonical(in)); again != Canonical(in) {
			t.Errorf("Canonical not idempotent on %q: %q then %q", in, Canonical(in), again)
		}
	}
	f("", "")
	f("  a   b  ", "a b")
	f("PacketResponder 1 for block blk_38865049064139660 terminating", "PacketResponder <*> for block <*> terminating")
	f("Received connection request /10.10.34.11:45307", "Received connection request <*>:<*>")
	f("00000001@2016/9/27:20:30:31.455 WcpInitialize", "<*>@<*>/<*>/<*>:<*>:<*>:<*> WcpInitialize")
	f("generating core.1234", "generating core.<*>")
	f("ssh2 u0 t761 Office16", "ssh2 u0 t761 Office16")
	f("flags=0x1, allDrawn= false", "flags=<*>, allDrawn= <*>")
	f("wtoken = AppWindowToken{9f4ef63 token", "wtoken = AppWindowToken{<*> token")
	f("open /usr/lib/x.so failed", "open <*> failed")
	f("q1.cnzz.com:80 open through proxy", "<*>:<*> open through proxy")
	f("com.android.phone org.apache.hadoop.Foo", "com.android.phone org.apache.hadoop.Foo")
	f("guid {18a020eb-e3ef-e890-a9a5-e603fdb4e18f}", "guid {<*>}")
	f("at Wed Jul 27 10:59:53 2005", "at <*> <*> <*> <*>:<*>:<*> <*>")
	f("<*>.<*>.<*> and <*><*>", "<*> and <*>")
	f("user root logged in", "user <*> logged in")
	f("x86_64 appattempt_1445144423722_0020_000001", "<*> <*>")
	f("delete blk_-123 blk_456 vCores:-27", "delete <*> <*> vCores:<*>")
	f("Old: msra-sa-41/10.190.173.170:9000 hdfs://node-3:9000", "Old: <*>/<*>:<*> hdfs://<*>:<*>")
	f("Security Scaffold v1.0.0 kernel 2.6.5-1.358 mapreduce.v2.app", "Security Scaffold <*> kernel <*> mapreduce.v2.app")
	f("0MB 16K 80x25 1st", "<*> <*> <*> <*>")
	f("pkg=com.tencent.mobileqq file=x.cpp", "pkg=<*> file=x.cpp")
	// Fast paths: value words in any case, plain and underscored words.
	f("TRUE False NULL Admin root Root", "<*> <*> <*> <*> <*> <*>")
	f("Truth tru nulls rooted Mon mon May", "Truth tru nulls rooted <*> mon <*>")
	f("a_b c_d.e x/y_z key=a.b.c key=a.b a.true", "a_b c_d.e x/y_z key=<*> key=a.b a.<*>")
}

func TestDisplay(t *testing.T) {
	f := func(template, example, want string) {
		t.Helper()
		if got := Display(template, example); got != want {
			t.Errorf("Display(%q, %q) = %q, want %q", template, example, got, want)
		}
	}
	f("from <*> port <*>", "from 10.0.0.1 port 22", "from <IP> port <NUM>")
	f("id <*> hash <*>", "id 18a020eb-e3ef-e890-a9a5-e603fdb4e18f hash 0x7fed806eb5d", "id <UUID> hash <HEX>")
	f("at <*> file <*>", "at 2026-01-01T00:00:00Z file /var/log/x.log", "at <TIME> file <PATH>")
	f("user <*>", "user alice", "user <*>")
	f("user <*> x", "something else", "user <*> x") // does not fit: unchanged
}

func TestQuery(t *testing.T) {
	f := func(template, want string) {
		t.Helper()
		if got := Query(template); got != want {
			t.Errorf("Query(%q) = %q, want %q", template, got, want)
		}
	}
	f("Failed password for <*> from <*> port <*>", `"Failed password for" AND "from" AND "port"`)
	f("<*>", "*")
	f(`tag="<*>" x`, `"tag=\"" AND "\" x"`)
}

func TestCollapseDates(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got := strings.Join(collapseDates(splitWords(nil, in)), " ")
		if got != want {
			t.Errorf("collapseDates(%q) = %q, want %q", in, got, want)
		}
	}
	f("connection from 1.2.3.4 () at Wed Jul 27 10:59:53 2005", "connection from 1.2.3.4 () at <*>:<*>:<*>")
	f("Jan  1 00:00:00 host sshd[1]: x", "<*>:<*>:<*> host sshd[1]: x")
	f("#1 Sat May 8 09:04:50 EDT 2004", "#1 <*>:<*>:<*> EDT 2004")
	f("at 2016-09-28 04:30:30,123 ok", "at 2016-09-28 04:30:30,123 ok")
	f("May I ask Jun 5 times", "May I ask Jun 5 times")
	f("Jul 27 10:59", "Jul 27 10:59")
}

func TestDisplayTime(t *testing.T) {
	tpl := Canonical(strings.Join(collapseDates(splitWords(nil, "Jan  1 00:00:00 h sshd[7]: ok")), " "))
	tpl = strings.Replace(tpl, " h ", " <*> ", 1)
	if got, want := Display(tpl, "Jan  1 00:00:00 h sshd[7]: ok"), "<TIME> <*> sshd[<NUM>]: ok"; got != want {
		t.Errorf("Display = %q, want %q", got, want)
	}
}

func TestSplitWords(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got := splitWords(nil, in)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitWords(%q) = %q, want %q", in, got, want)
		}
	}
	f("")
	f("   ")
	f("a", "a")
	f("  abc  def\tghi\n", "abc", "def", "ghi")
	f("0123456789abcdef 0123456789abcdef", "0123456789abcdef", "0123456789abcdef")
	f("longwordlongword\x01ctl\x1fstill one\vnext", "longwordlongword\x01ctl\x1fstill", "one", "next")
	f("héllo wörld ünïcode\u00a0nbsp", "héllo", "wörld", "ünïcode\u00a0nbsp")
	f("exactly8 exactly8", "exactly8", "exactly8")
	// Every position of a space in a long word.
	w := "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := 1; i < len(w); i++ {
		f(w[:i]+" "+w[i:], w[:i], w[i:])
		f(w[:i]+"\r\n"+w[i:], w[:i], w[i:])
	}
}
