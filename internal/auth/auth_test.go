package auth

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func init() {
	// Cheap hashing keeps the race-detector run short; the format and the
	// verification path are the same.
	argonTime, argonMemory = 1, 1<<10
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBootstrapToken(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, BootstrapFile))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, BootstrapFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap file mode %v, want 0600", st.Mode().Perm())
	}
	secret := strings.TrimSpace(string(b))
	p, err := a.AuthenticateToken(secret)
	if err != nil || !p.Can(CapAdmin) || !p.Can(CapIngest) {
		t.Fatalf("AuthenticateToken(bootstrap) = %+v, %v", p, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, stateFile))
	if strings.Contains(string(raw), secret) {
		t.Fatal("state.json contains a token secret")
	}
	a2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.AuthenticateToken(secret); err != nil {
		t.Fatal(err)
	}
	if n := len(a2.Tokens()); n != 1 {
		t.Fatalf("%d tokens after reopen, want 1", n)
	}
}

func TestTokenRolesExpiryRevoke(t *testing.T) {
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, err := Open(Options{Dir: t.TempDir(), AdminToken: "envtoken", Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tokens()) != 0 {
		t.Fatal("bootstrap token created although MAMORI_ADMIN_TOKEN was set")
	}
	if p, err := a.AuthenticateToken("envtoken"); err != nil || !p.Can(CapAdmin) {
		t.Fatalf("env admin: %+v %v", p, err)
	}
	ing, _, err := a.CreateToken(TokenSpec{Name: "fw", Roles: []string{RoleIngest}, TTL: time.Hour, Source: "fortigate"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.AuthenticateToken(ing)
	if err != nil || !p.Can(CapIngest) || p.Can(CapSearch) || p.Source != "fortigate" {
		t.Fatalf("ingest token: %+v %v", p, err)
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, err := a.AuthenticateToken(ing); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("expired token accepted: %v", err)
	}
	rd, rec, _ := a.CreateToken(TokenSpec{Roles: []string{RoleReader}})
	if err := a.RevokeToken(rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateToken(rd); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("revoked token accepted")
	}
	if err := a.RevokeToken("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RevokeToken(unknown) = %v", err)
	}
	if _, _, err := a.CreateToken(TokenSpec{Roles: []string{"root"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateToken(bad role) = %v", err)
	}
	if _, err := a.AuthenticateToken("wrong"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("wrong token accepted")
	}
	// A token may narrow its role's capabilities and partitions.
	narrow, _, err := a.CreateToken(TokenSpec{Roles: []string{RoleAnalyst}, Capabilities: []Capability{CapSearch, CapAdmin}, Partitions: []string{"main"}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ = a.AuthenticateToken(narrow)
	if !p.Can(CapSearch) || p.Can(CapRules) || p.Can(CapAdmin) || !p.Scope.AllowsPartition("main") || p.Scope.AllowsPartition("wallet") {
		t.Fatalf("narrowed token: caps %v scope %+v", p.Capabilities(), p.Scope)
	}
}

func TestRoleScopes(t *testing.T) {
	a, err := Open(Options{Dir: t.TempDir(), AdminToken: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PutRole(Role{Name: "soc", Capabilities: []Capability{CapSearch}, Partitions: []string{"main", "wallet"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutRole(Role{Name: "devs", Capabilities: []Capability{CapSearch}, Filter: "!_source=wallet-signer"}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutRole(Role{Name: "admin", Capabilities: []Capability{CapSearch}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("overwriting a built-in role: %v", err)
	}
	if err := a.PutRole(Role{Name: "bad role", Capabilities: []Capability{"fly"}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "fly") || !strings.Contains(err.Error(), "name") {
		t.Fatalf("bad role: %v", err)
	}
	tok := func(roles ...string) Principal {
		s, _, err := a.CreateToken(TokenSpec{Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := a.AuthenticateToken(s)
		return p
	}
	soc := tok("soc")
	if !soc.Scope.AllowsPartition("wallet") || soc.Scope.AllowsPartition("signals") || soc.Scope.AllowsPartition(AuditPartition) || soc.Scope.Filters != nil {
		t.Errorf("soc scope %+v", soc.Scope)
	}
	devs := tok("devs")
	if !devs.Scope.AllowsPartition("anything") || devs.Scope.AllowsPartition(AuditPartition) || !slices.Equal(devs.Scope.Filters, []string{"!_source=wallet-signer"}) {
		t.Errorf("devs scope %+v", devs.Scope)
	}
	both := tok("soc", "devs") // union of access: all partitions, no filter from soc
	if both.Scope.Partitions != nil || both.Scope.Filters != nil {
		t.Errorf("soc+devs scope %+v", both.Scope)
	}
	aud := tok(RoleAuditor)
	if !aud.Scope.AllowsPartition(AuditPartition) || aud.Scope.AllowsPartition("main") || !aud.Can(CapAudit) || aud.Can(CapRules) {
		t.Errorf("auditor %v %+v", aud.Capabilities(), aud.Scope)
	}
	if err := a.DeleteRole("soc"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("deleting a role in use: %v", err)
	}
}

func TestUsersLoginLockoutTOTP(t *testing.T) {
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, err := Open(Options{Dir: t.TempDir(), AdminToken: "x", Now: c.now, LockoutAfter: 3, LockoutFor: time.Minute, SessionIdle: 10 * time.Minute, SessionMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser("alice", "short", []string{RoleAnalyst}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short password accepted: %v", err)
	}
	if _, err := a.CreateUser("alice", "correct horse battery", []string{RoleAnalyst}); err != nil {
		t.Fatal(err)
	}
	s, p, err := a.Login("alice", "correct horse battery", "")
	if err != nil || p.ID != "alice" || !p.Can(CapTriage) || s.CSRF == "" {
		t.Fatalf("login: %+v %v", p, err)
	}
	if _, p2, err := a.AuthenticateSession(s.ID); err != nil || p2.ID != "alice" {
		t.Fatalf("session: %v", err)
	}
	// Idle timeout.
	c.t = c.t.Add(11 * time.Minute)
	if _, _, err := a.AuthenticateSession(s.ID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("idle session still valid")
	}
	// Absolute timeout even when active.
	s, _, _ = a.Login("alice", "correct horse battery", "")
	for i := 0; i < 7; i++ {
		c.t = c.t.Add(9 * time.Minute)
		a.AuthenticateSession(s.ID)
	}
	if _, _, err := a.AuthenticateSession(s.ID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("session outlived its absolute timeout")
	}
	// Lockout after 3 failures, even with the right password.
	for i := 0; i < 3; i++ {
		if _, _, err := a.Login("alice", "wrong password!!", ""); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, _, err := a.Login("alice", "correct horse battery", ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("locked account: %v", err)
	}
	c.t = c.t.Add(2 * time.Minute)
	if _, _, err := a.Login("alice", "correct horse battery", ""); err != nil {
		t.Fatalf("after lockout: %v", err)
	}
	// TOTP.
	_, secret, err := a.UpdateUser("alice", UserUpdate{TOTP: "enable"})
	if err != nil || secret == "" {
		t.Fatal(err)
	}
	if _, _, err := a.Login("alice", "correct horse battery", ""); !errors.Is(err, ErrTOTPRequired) {
		t.Fatalf("no code: %v", err)
	}
	code, _ := TOTPCode(secret, c.t)
	if _, _, err := a.Login("alice", "correct horse battery", code); err != nil {
		t.Fatalf("with code: %v", err)
	}
	if _, _, err := a.Login("alice", "correct horse battery", "000000"); !errors.Is(err, ErrUnauthenticated) && code != "000000" {
		t.Fatalf("bad code: %v", err)
	}
	// Changing the password ends sessions.
	s, _, _ = a.Login("alice", "correct horse battery", code)
	pw := "another long password"
	a.UpdateUser("alice", UserUpdate{Password: &pw})
	if _, _, err := a.AuthenticateSession(s.ID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("session survived a password change")
	}
	if _, _, err := a.Login("nobody", "whatever long pw", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("unknown user: %v", err)
	}
	if len(a.Users()) != 1 || a.Users()[0].TOTP != true {
		t.Fatalf("users %+v", a.Users())
	}
}

func TestTOTPKnownVector(t *testing.T) {
	// RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T=59 → 94287082 (8 digits; we use 6).
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	code, err := TOTPCode(secret, time.Unix(59, 0))
	if err != nil || code != "287082" {
		t.Fatalf("TOTPCode = %s, %v, want 287082", code, err)
	}
}
