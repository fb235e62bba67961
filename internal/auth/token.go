package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Token is a stored API token. The secret itself is never stored, only its
// SHA-256 (tokens are 256-bit random, so a fast hash is sufficient).
type Token struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	// Capabilities, when set, narrows what the roles grant.
	Capabilities []Capability `json:"capabilities,omitempty"`
	// Partitions, when set, narrows what the roles may read.
	Partitions []string  `json:"partitions,omitempty"`
	Hash       string    `json:"hash,omitempty"`
	Source     string    `json:"source,omitempty"` // ingest tokens: the only source they may write
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	Revoked    bool      `json:"revoked,omitempty"`
	LastUsed   time.Time `json:"last_used,omitzero"`
}

func (t *Token) active(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	Name         string
	Roles        []string
	Capabilities []Capability
	Partitions   []string
	Source       string
	TTL          time.Duration // 0: no expiry
	CreatedBy    string
}

// CreateToken makes a new token and returns its secret (shown once) and
// record (without hash).
func (a *Auth) CreateToken(spec TokenSpec) (string, Token, error) {
	if len(spec.Roles) == 0 {
		return "", Token{}, fmt.Errorf("%w: a token needs a role (ingest, reader, analyst, auditor, admin or a custom role)", ErrInvalid)
	}
	if spec.TTL < 0 {
		return "", Token{}, fmt.Errorf("%w: negative expiry", ErrInvalid)
	}
	for _, c := range spec.Capabilities {
		if !slices.Contains(AllCapabilities, c) {
			return "", Token{}, fmt.Errorf("%w: capability %q: want one of %v", ErrInvalid, c, AllCapabilities)
		}
	}
	if spec.Name == "" {
		spec.Name = strings.Join(spec.Roles, "+")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	secret := "mmr_" + base64.RawURLEncoding.EncodeToString(raw[:])
	tk := &Token{ID: randomID(6), Name: spec.Name, Roles: spec.Roles, Capabilities: spec.Capabilities, Partitions: spec.Partitions,
		Hash: hashSecret(secret), Source: spec.Source, CreatedAt: a.now().UTC(), CreatedBy: spec.CreatedBy}
	if spec.TTL > 0 {
		tk.ExpiresAt = tk.CreatedAt.Add(spec.TTL)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range spec.Roles {
		if !a.roleExistsLocked(r) {
			return "", Token{}, fmt.Errorf("%w: unknown role %q", ErrInvalid, r)
		}
	}
	a.st.Tokens = append(a.st.Tokens, tk)
	if err := a.saveLocked(); err != nil {
		a.st.Tokens = a.st.Tokens[:len(a.st.Tokens)-1]
		return "", Token{}, err
	}
	a.byHash[tk.Hash] = tk
	out := *tk
	out.Hash = ""
	return secret, out, nil
}

// Tokens returns every token without hashes, oldest first.
func (a *Auth) Tokens() []Token {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]Token, len(a.st.Tokens))
	for i, tk := range a.st.Tokens {
		out[i] = *tk
		out[i].Hash = ""
	}
	return out
}

// RevokeToken marks the token with the given id revoked.
func (a *Auth) RevokeToken(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tk := range a.st.Tokens {
		if tk.ID == id {
			if tk.Revoked {
				return nil
			}
			tk.Revoked = true
			if err := a.saveLocked(); err != nil {
				tk.Revoked = false
				return err
			}
			return nil
		}
	}
	return fmt.Errorf("token %s: %w", id, ErrNotFound)
}

// AuthenticateToken returns the principal for a token secret.
func (a *Auth) AuthenticateToken(secret string) (Principal, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return Principal{}, ErrUnauthenticated
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.adminToken != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(a.adminToken)) == 1 {
		return a.principalLocked("env", "env", "MAMORI_ADMIN_TOKEN", []string{RoleAdmin}, nil, nil), nil
	}
	tk, ok := a.byHash[hashSecret(secret)]
	if !ok || !tk.active(a.now()) {
		return Principal{}, ErrUnauthenticated
	}
	p := a.principalLocked("token", tk.ID, tk.Name, tk.Roles, tk.Capabilities, tk.Partitions)
	p.Source = tk.Source
	return p, nil
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}
