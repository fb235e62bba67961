package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBootstrapAndAuthenticate(t *testing.T) {
	dir := t.TempDir()
	tk, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, BootstrapFile))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, BootstrapFile))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap file mode %v, want 0600", st.Mode().Perm())
	}
	admin := strings.TrimSpace(string(b))
	p, err := tk.Authenticate(admin)
	if err != nil || p.Role != RoleAdmin {
		t.Fatalf("Authenticate(bootstrap) = %+v, %v", p, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, tokensFile))
	if strings.Contains(string(raw), admin) {
		t.Fatal("tokens.json contains a secret")
	}
	// Reopen: no second bootstrap, token still valid.
	tk2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk2.Authenticate(admin); err != nil {
		t.Fatal(err)
	}
	if n := len(tk2.List()); n != 1 {
		t.Fatalf("List() has %d tokens after reopen, want 1", n)
	}
}

func TestRolesExpiryRevoke(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tk, err := Open(Options{Dir: t.TempDir(), AdminToken: "envtoken", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if len(tk.List()) != 0 {
		t.Fatal("bootstrap token created although MAMORI_ADMIN_TOKEN was set")
	}
	if p, err := tk.Authenticate("envtoken"); err != nil || !p.Can(CapAdmin) {
		t.Fatalf("env admin: %+v %v", p, err)
	}
	ing, rec, err := tk.Create("fw", RoleIngest, time.Hour, "fortigate")
	if err != nil {
		t.Fatal(err)
	}
	p, err := tk.Authenticate(ing)
	if err != nil || !p.Can(CapIngest) || p.Can(CapSearch) || p.Source != "fortigate" {
		t.Fatalf("ingest token: %+v %v", p, err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := tk.Authenticate(ing); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("expired token accepted: %v", err)
	}
	rd, rrec, _ := tk.Create("", RoleReader, 0, "")
	if err := tk.Revoke(rrec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Authenticate(rd); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("revoked token accepted")
	}
	if err := tk.Revoke("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Revoke(unknown) = %v", err)
	}
	if _, _, err := tk.Create("x", "root", 0, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Create(bad role) = %v", err)
	}
	_ = rec
	if _, err := tk.Authenticate("wrong"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("wrong token accepted")
	}
}
