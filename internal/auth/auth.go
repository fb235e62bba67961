package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/atomicfile"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Errors of this package; the API maps them to statuses.
var (
	ErrUnauthenticated = errors.New("missing, unknown, revoked or expired credentials")
	ErrForbidden       = errors.New("not allowed")
	ErrNotFound        = errors.New("not found")
	ErrInvalid         = errors.New("invalid request")
	ErrLocked          = errors.New("account locked after repeated failed logins; try again later")
	ErrTOTPRequired    = errors.New("a one-time code is required")
)

// Principal is an authenticated caller: a token or a logged-in user.
type Principal struct {
	Kind   string // "token", "user" or "env"
	ID     string // token id or user name
	Name   string
	Roles  []string
	Source string // ingest tokens bound to one source
	caps   map[Capability]bool
	Scope  Scope
}

// Can reports whether the principal has capability c.
func (p Principal) Can(c Capability) bool { return p.caps[c] || p.caps[CapAdmin] }

// Capabilities lists the principal's capabilities.
func (p Principal) Capabilities() []Capability {
	var out []Capability
	for _, c := range AllCapabilities {
		if p.Can(c) {
			out = append(out, c)
		}
	}
	return out
}

// Options configures Open.
type Options struct {
	// Dir holds state.json, the bootstrap admin-token file and the audit log.
	Dir string
	// AdminToken, when set (from MAMORI_ADMIN_TOKEN), is valid with the
	// admin role and no bootstrap token is created.
	AdminToken string
	// SessionIdle and SessionMax bound login sessions (defaults 30m, 12h).
	SessionIdle, SessionMax time.Duration
	// LockoutAfter failed logins lock an account for LockoutFor
	// (defaults 5 and 15m).
	LockoutAfter int
	LockoutFor   time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// state is what is persisted in state.json.
type state struct {
	Roles  []Role   `json:"roles"`
	Users  []*User  `json:"users"`
	Tokens []*Token `json:"tokens"`
}

// Auth is the identity and access store of a node.
type Auth struct {
	dir        string
	adminToken string
	opts       Options
	log        *slog.Logger
	now        func() time.Time

	mu      sync.RWMutex // guards st and byHash
	st      state
	byHash  map[string]*Token
	session *Sessions
}

const stateFile = "state.json"

// BootstrapFile is the name of the file, in Dir, that receives the first
// admin token when no MAMORI_ADMIN_TOKEN is set.
const BootstrapFile = "admin-token"

// Open loads the state, adding the built-in roles, and creates the
// bootstrap admin token on a first start without Options.AdminToken.
func Open(opts Options) (*Auth, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("open auth: %w: no directory", ErrInvalid)
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 30 * time.Minute
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = 12 * time.Hour
	}
	if opts.LockoutAfter <= 0 {
		opts.LockoutAfter = 5
	}
	if opts.LockoutFor <= 0 {
		opts.LockoutFor = 15 * time.Minute
	}
	a := &Auth{dir: opts.Dir, adminToken: opts.AdminToken, opts: opts, log: opts.Logger, now: opts.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.session = newSessions(opts.SessionIdle, opts.SessionMax, a.now)
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open auth: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(opts.Dir, stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open auth: %w", err)
	default:
		if err := json.Unmarshal(b, &a.st); err != nil {
			return nil, fmt.Errorf("open auth: parse %s: %w", stateFile, err)
		}
	}
	// Built-in roles are always current.
	a.st.Roles = slices.DeleteFunc(a.st.Roles, func(r Role) bool { return r.Builtin })
	a.st.Roles = append(builtinRoles(), a.st.Roles...)
	a.reindex()
	if opts.AdminToken == "" && !a.hasActiveAdmin() {
		if err := a.bootstrap(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *Auth) reindex() {
	a.byHash = make(map[string]*Token, len(a.st.Tokens))
	for _, tk := range a.st.Tokens {
		a.byHash[tk.Hash] = tk
	}
}

func (a *Auth) hasActiveAdmin() bool {
	for _, tk := range a.st.Tokens {
		if slices.Contains(tk.Roles, RoleAdmin) && tk.active(a.now()) {
			return true
		}
	}
	for _, u := range a.st.Users {
		if slices.Contains(u.Roles, RoleAdmin) && !u.Disabled {
			return true
		}
	}
	return false
}

func (a *Auth) bootstrap() error {
	secret, _, err := a.CreateToken(TokenSpec{Name: "bootstrap admin", Roles: []string{RoleAdmin}})
	if err != nil {
		return fmt.Errorf("create bootstrap admin token: %w", err)
	}
	path := filepath.Join(a.dir, BootstrapFile)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write bootstrap admin token: %w", err)
	}
	a.log.Warn("created the first admin token; read it, then delete the file", "path", path)
	return nil
}

// saveLocked writes the state atomically (temp file, fsync, rename).
// Callers hold a.mu for writing.
func (a *Auth) saveLocked() error {
	b, err := json.MarshalIndent(&a.st, "", "  ")
	if err != nil {
		return fmt.Errorf("save auth state: %w", err)
	}
	return writeFileAtomic(filepath.Join(a.dir, stateFile), b)
}

func writeFileAtomic(path string, b []byte) error { return atomicfile.Write(path, b, 0o600) }

// principal builds a Principal from role names, under a.mu (read).
func (a *Auth) principalLocked(kind, id, name string, roleNames []string, capSubset []Capability, partitions []string) Principal {
	var roles []Role
	for _, rn := range roleNames {
		for _, r := range a.st.Roles {
			if r.Name == rn {
				roles = append(roles, r)
			}
		}
	}
	caps, sc := combineRoles(roles)
	if len(capSubset) > 0 { // a token may narrow its roles' capabilities
		narrowed := map[Capability]bool{}
		for _, c := range capSubset {
			if caps[c] || caps[CapAdmin] {
				narrowed[c] = true
			}
		}
		caps = narrowed
		sc.audit = caps[CapAudit] || caps[CapAdmin]
	}
	if len(partitions) > 0 { // and narrow its partitions
		if sc.Partitions == nil {
			sc.Partitions = append([]string(nil), partitions...)
		} else {
			sc.Partitions = slices.DeleteFunc(slices.Clone(sc.Partitions), func(p string) bool { return !slices.Contains(partitions, p) })
		}
	}
	return Principal{Kind: kind, ID: id, Name: name, Roles: roleNames, caps: caps, Scope: sc}
}

// Roles lists the roles.
func (a *Auth) Roles() []Role {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Clone(a.st.Roles)
}

// PutRole creates or replaces a custom role.
func (a *Auth) PutRole(r Role) error {
	if err := r.Validate(); err != nil {
		return err
	}
	r.Builtin = false
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.st.Roles, func(x Role) bool { return x.Name == r.Name })
	if i >= 0 && a.st.Roles[i].Builtin {
		return fmt.Errorf("%w: role %s is built in", ErrInvalid, r.Name)
	}
	old := slices.Clone(a.st.Roles)
	if i >= 0 {
		a.st.Roles[i] = r
	} else {
		a.st.Roles = append(a.st.Roles, r)
	}
	if err := a.saveLocked(); err != nil {
		a.st.Roles = old
		return err
	}
	return nil
}

// DeleteRole removes a custom role that no user or token uses.
func (a *Auth) DeleteRole(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.st.Roles, func(x Role) bool { return x.Name == name })
	if i < 0 {
		return fmt.Errorf("role %s: %w", name, ErrNotFound)
	}
	if a.st.Roles[i].Builtin {
		return fmt.Errorf("%w: role %s is built in", ErrInvalid, name)
	}
	for _, u := range a.st.Users {
		if slices.Contains(u.Roles, name) {
			return fmt.Errorf("%w: role %s is held by user %s", ErrInvalid, name, u.Name)
		}
	}
	for _, t := range a.st.Tokens {
		if slices.Contains(t.Roles, name) && !t.Revoked {
			return fmt.Errorf("%w: role %s is held by token %s", ErrInvalid, name, t.ID)
		}
	}
	old := slices.Clone(a.st.Roles)
	a.st.Roles = slices.Delete(a.st.Roles, i, i+1)
	if err := a.saveLocked(); err != nil {
		a.st.Roles = old
		return err
	}
	return nil
}

func (a *Auth) roleExistsLocked(name string) bool {
	return slices.ContainsFunc(a.st.Roles, func(r Role) bool { return r.Name == name })
}
