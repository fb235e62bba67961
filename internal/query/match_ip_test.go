package query

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestParseIPv4 compares the fast parser with netip on fixed and random
// strings: it must accept exactly the IPv4 texts netip accepts.
func TestParseIPv4(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, ok := parseIPv4(s)
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is4()
		if ok != want {
			t.Fatalf("parseIPv4(%q) ok = %v, netip says %v (%v)", s, ok, want, err)
		}
		if ok {
			b := a.As4()
			if w := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]); got != w {
				t.Fatalf("parseIPv4(%q) = %x, want %x", s, got, w)
			}
		}
	}
	for _, s := range []string{"1.2.3.4", "255.255.255.255", "0.0.0.0", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
		"1..2.3", ".1.2.3", "1.2.3.", "::ffff:1.2.3.4", "10.0.0.1 ", "a.b.c.d", "", "1.2.3.04", "100.200.010.1"} {
		check(s)
	}
	r := rand.New(rand.NewPCG(5, 6))
	const alpha = "0123456789.:af"
	for range 200000 {
		b := make([]byte, 1+r.IntN(16))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		check(string(b))
	}
}

// TestCIDRPred checks the CIDR predicate against netip for IPv4 and IPv6
// ranges, including IPv4-mapped addresses and the range's own text.
func TestCIDRPred(t *testing.T) {
	f := func(cidr, v string, want bool) {
		t.Helper()
		pred, err := equalPred(cidr, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := pred(v); got != want {
			t.Errorf("%s matches %q = %v, want %v", cidr, v, got, want)
		}
	}
	f("10.0.0.0/8", "10.1.2.3", true)
	f("10.0.0.0/8", "11.1.2.3", false)
	f("10.0.0.0/8", "10.0.0.0/8", true)
	f("10.0.0.0/8", "::ffff:10.1.2.3", true)
	f("10.1.2.3/32", "10.1.2.3", true)
	f("10.1.2.3/32", "10.1.2.4", false)
	f("0.0.0.0/0", "8.8.8.8", true)
	f("192.168.1.77/24", "192.168.1.1", true)
	f("2001:db8::/32", "2001:db8::1", true)
	f("2001:db8::/32", "10.1.2.3", false)
	f("10.0.0.0/8", "010.1.2.3", false)
}
