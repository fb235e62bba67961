package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Role names a set of capabilities.
type Role string

// The built-in roles.
const (
	RoleIngest Role = "ingest" // may send data
	RoleReader Role = "reader" // may search
	RoleAdmin  Role = "admin"  // may do everything
)

// Capability is one thing a principal may do.
type Capability string

// Capabilities checked by the API.
const (
	CapIngest Capability = "ingest"
	CapSearch Capability = "search"
	CapAdmin  Capability = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleIngest || r == RoleReader || r == RoleAdmin }

// Can reports whether the role grants c.
func (r Role) Can(c Capability) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleReader:
		return c == CapSearch
	case RoleIngest:
		return c == CapIngest
	}
	return false
}

// Errors returned by Authenticate and the token calls.
var (
	ErrUnauthenticated = errors.New("missing, unknown, revoked or expired token")
	ErrForbidden       = errors.New("token lacks the capability")
	ErrNotFound        = errors.New("token not found")
	ErrInvalid         = errors.New("invalid token request")
)

// Token is a stored API token. The secret itself is never stored, only its
// SHA-256 (tokens are 256-bit random, so a fast hash is sufficient).
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"hash,omitempty"`
	Source    string    `json:"source,omitempty"` // ingest tokens: the only source they may write
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// Principal is an authenticated caller.
type Principal struct {
	TokenID string
	Name    string
	Role    Role
	Source  string
}

// Can reports whether the principal has capability c.
func (p Principal) Can(c Capability) bool { return p.Role.Can(c) }

// Options configures Open.
type Options struct {
	// Dir holds tokens.json and the bootstrap admin-token file.
	Dir string
	// AdminToken, when set (from MAMORI_ADMIN_TOKEN), is valid with the
	// admin role and no bootstrap token is created.
	AdminToken string
	Logger     *slog.Logger
	Now        func() time.Time
}

// Tokens is the token table, persisted as tokens.json in Dir.
type Tokens struct {
	dir        string
	adminToken string
	log        *slog.Logger
	now        func() time.Time

	mu     sync.RWMutex   // guards byHash and list
	byHash map[string]int // hash → index in list
	list   []Token
}

const tokensFile = "tokens.json"

// BootstrapFile is the name of the file, in Dir, that receives the first
// admin token when no MAMORI_ADMIN_TOKEN is set.
const BootstrapFile = "admin-token"

// Open loads the token table, creating the bootstrap admin token on a first
// start without Options.AdminToken.
func Open(opts Options) (*Tokens, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("open tokens: %w: no directory", ErrInvalid)
	}
	t := &Tokens{dir: opts.Dir, adminToken: opts.AdminToken, log: opts.Logger, now: opts.Now, byHash: map[string]int{}}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.now == nil {
		t.now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open tokens: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(opts.Dir, tokensFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open tokens: %w", err)
	default:
		if err := json.Unmarshal(b, &t.list); err != nil {
			return nil, fmt.Errorf("open tokens: parse %s: %w", tokensFile, err)
		}
	}
	t.reindex()
	if opts.AdminToken == "" && !t.hasActiveAdmin() {
		if err := t.bootstrap(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Tokens) reindex() {
	t.byHash = make(map[string]int, len(t.list))
	for i, tk := range t.list {
		t.byHash[tk.Hash] = i
	}
}

func (t *Tokens) hasActiveAdmin() bool {
	for _, tk := range t.list {
		if tk.Role == RoleAdmin && !tk.Revoked && (tk.ExpiresAt.IsZero() || tk.ExpiresAt.After(t.now())) {
			return true
		}
	}
	return false
}

func (t *Tokens) bootstrap() error {
	secret, _, err := t.Create("bootstrap admin", RoleAdmin, 0, "")
	if err != nil {
		return fmt.Errorf("create bootstrap admin token: %w", err)
	}
	path := filepath.Join(t.dir, BootstrapFile)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write bootstrap admin token: %w", err)
	}
	t.log.Warn("created the first admin token; read it, then delete the file", "path", path)
	return nil
}

// Create makes a new token and returns its secret (shown once) and record.
// ttl 0 means no expiry; source binds an ingest token to one source.
func (t *Tokens) Create(name string, role Role, ttl time.Duration, source string) (string, Token, error) {
	if !role.Valid() {
		return "", Token{}, fmt.Errorf("%w: unknown role %q (want ingest, reader or admin)", ErrInvalid, role)
	}
	if ttl < 0 {
		return "", Token{}, fmt.Errorf("%w: negative expiry", ErrInvalid)
	}
	if name == "" {
		name = string(role)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	var idb [6]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	secret := "mmr_" + base64.RawURLEncoding.EncodeToString(raw[:])
	tk := Token{ID: hex.EncodeToString(idb[:]), Name: name, Role: role, Hash: hashSecret(secret), Source: source, CreatedAt: t.now().UTC()}
	if ttl > 0 {
		tk.ExpiresAt = tk.CreatedAt.Add(ttl)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = append(t.list, tk)
	if err := t.saveLocked(); err != nil {
		t.list = t.list[:len(t.list)-1]
		return "", Token{}, err
	}
	t.byHash[tk.Hash] = len(t.list) - 1
	tk.Hash = ""
	return secret, tk, nil
}

// List returns every token without hashes, oldest first.
func (t *Tokens) List() []Token {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Token, len(t.list))
	for i, tk := range t.list {
		tk.Hash = ""
		out[i] = tk
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// Revoke marks the token with the given id revoked.
func (t *Tokens) Revoke(id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.list {
		if t.list[i].ID == id {
			if t.list[i].Revoked {
				return nil
			}
			t.list[i].Revoked = true
			if err := t.saveLocked(); err != nil {
				t.list[i].Revoked = false
				return err
			}
			return nil
		}
	}
	return fmt.Errorf("revoke %s: %w", id, ErrNotFound)
}

// Authenticate returns the principal for a secret.
func (t *Tokens) Authenticate(secret string) (Principal, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return Principal{}, ErrUnauthenticated
	}
	if t.adminToken != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(t.adminToken)) == 1 {
		return Principal{TokenID: "env", Name: "MAMORI_ADMIN_TOKEN", Role: RoleAdmin}, nil
	}
	h := hashSecret(secret)
	t.mu.RLock()
	i, ok := t.byHash[h]
	var tk Token
	if ok {
		tk = t.list[i]
	}
	t.mu.RUnlock()
	if !ok || tk.Revoked || (!tk.ExpiresAt.IsZero() && !t.now().Before(tk.ExpiresAt)) {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{TokenID: tk.ID, Name: tk.Name, Role: tk.Role, Source: tk.Source}, nil
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// saveLocked writes the table atomically (temp file, fsync, rename).
func (t *Tokens) saveLocked() error {
	b, err := json.MarshalIndent(t.list, "", "  ")
	if err != nil {
		return fmt.Errorf("save tokens: %w", err)
	}
	path := filepath.Join(t.dir, tokensFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("save tokens: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save tokens: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save tokens: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save tokens: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save tokens: %w", err)
	}
	return nil
}
