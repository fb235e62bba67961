package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzOIDCClaims feeds arbitrary ID-token claims (what a provider, or an
// attacker controlling one, sends) to the identity mapping: it must never
// panic, and the user name it derives must be a valid Mamori user name.
func FuzzOIDCClaims(f *testing.F) {
	for _, s := range []string{
		`{"preferred_username":"alice","email":"a@example.com","groups":["secops","x"]}`,
		`{"upn":"DOM\\bob smith","realm_access":{"roles":["auditors"]}}`,
		`{"groups":"secops","email":"c@example.com"}`,
		`{"groups":[1,null,{"a":1}],"preferred_username":"  "}`,
		`{"preferred_username":"` + strings.Repeat("é", 100) + `"}`,
		`{"realm_access":"not an object"}`,
	} {
		f.Add([]byte(s), "sub-1")
	}
	o := &OIDC{cfg: OIDCConfig{GroupsClaim: "realm_access.roles", UsernameClaim: "upn",
		GroupRoles: map[string][]string{"secops": {RoleAnalyst}, "auditors": {RoleAuditor}}}}
	o2 := &OIDC{cfg: OIDCConfig{GroupsClaim: "groups", UsernameClaim: "preferred_username", GroupRoles: o.cfg.GroupRoles}}
	f.Fuzz(func(t *testing.T, b []byte, sub string) {
		var claims map[string]any
		if json.Unmarshal(b, &claims) != nil {
			return
		}
		for _, oc := range []*OIDC{o, o2} {
			id := oc.identity(sub, claims)
			if strings.ContainsAny(id.User, " \t\n/:") || len(id.User) > 128 || !utf8.ValidString(id.User) && utf8.ValidString(sub) {
				t.Fatalf("identity(%q) user %q is not a valid user name", b, id.User)
			}
			for _, r := range id.Roles {
				if r != RoleAnalyst && r != RoleAuditor {
					t.Fatalf("identity(%q) role %q was never mapped", b, r)
				}
			}
		}
	})
}
