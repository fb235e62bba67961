package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// User is a person who logs in to the UI.
type User struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"` // argon2id PHC string
	Roles        []string  `json:"roles"`
	TOTPSecret   string    `json:"totp_secret,omitempty"` // base32; empty: no second factor
	Disabled     bool      `json:"disabled,omitempty"`
	FailedLogins int       `json:"failed_logins,omitempty"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
	LastLogin    time.Time `json:"last_login,omitzero"`
}

// UserInfo is a user without secrets, for listings.
type UserInfo struct {
	Name        string    `json:"name"`
	Roles       []string  `json:"roles"`
	TOTP        bool      `json:"totp"`
	Disabled    bool      `json:"disabled"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	LastLogin   time.Time `json:"last_login,omitzero"`
}

func (u *User) info() UserInfo {
	return UserInfo{Name: u.Name, Roles: u.Roles, TOTP: u.TOTPSecret != "", Disabled: u.Disabled, LockedUntil: u.LockedUntil, CreatedAt: u.CreatedAt, LastLogin: u.LastLogin}
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 12

// argon2id parameters (RFC 9106 second recommendation, lighter memory).
// Variables so that tests can make hashing cheap; stored hashes carry
// their own parameters, so changing them never breaks old passwords.
var (
	argonTime    uint32 = 3
	argonMemory  uint32 = 64 << 10 // KiB
	argonThreads uint8  = 2
)

const argonKeyLen = 32

// HashPassword returns an argon2id PHC string for password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkPassword verifies a password against a PHC string.
func checkPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func validPassword(pw string) error {
	if len(pw) < MinPasswordLen {
		return fmt.Errorf("%w: password: at least %d characters", ErrInvalid, MinPasswordLen)
	}
	return nil
}

// CreateUser adds a user with a password and roles.
func (a *Auth) CreateUser(name, password string, roles []string) (UserInfo, error) {
	if name == "" || strings.ContainsAny(name, " \t\n/:") {
		return UserInfo{}, fmt.Errorf("%w: user name %q: want a name without spaces, '/' or ':'", ErrInvalid, name)
	}
	if err := validPassword(password); err != nil {
		return UserInfo{}, err
	}
	if len(roles) == 0 {
		return UserInfo{}, fmt.Errorf("%w: a user needs at least one role", ErrInvalid)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return UserInfo{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range roles {
		if !a.roleExistsLocked(r) {
			return UserInfo{}, fmt.Errorf("%w: unknown role %q", ErrInvalid, r)
		}
	}
	if a.userLocked(name) != nil {
		return UserInfo{}, fmt.Errorf("%w: user %s exists", ErrInvalid, name)
	}
	u := &User{Name: name, PasswordHash: hash, Roles: roles, CreatedAt: a.now().UTC()}
	a.st.Users = append(a.st.Users, u)
	if err := a.saveLocked(); err != nil {
		a.st.Users = a.st.Users[:len(a.st.Users)-1]
		return UserInfo{}, err
	}
	return u.info(), nil
}

func (a *Auth) userLocked(name string) *User {
	for _, u := range a.st.Users {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// Users lists the users without secrets.
func (a *Auth) Users() []UserInfo {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]UserInfo, len(a.st.Users))
	for i, u := range a.st.Users {
		out[i] = u.info()
	}
	return out
}

// UserUpdate changes a user; nil fields are left alone.
type UserUpdate struct {
	Password *string
	Roles    []string
	Disabled *bool
	// TOTP: "enable" returns a new secret (in UpdateUser's result),
	// "disable" removes it.
	TOTP string
	// Unlock clears a lockout.
	Unlock bool
}

// UpdateUser applies u to the named user. It returns the new TOTP secret
// when one was enabled.
func (a *Auth) UpdateUser(name string, up UserUpdate) (UserInfo, string, error) {
	var hash string
	if up.Password != nil {
		if err := validPassword(*up.Password); err != nil {
			return UserInfo{}, "", err
		}
		h, err := HashPassword(*up.Password)
		if err != nil {
			return UserInfo{}, "", err
		}
		hash = h
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.userLocked(name)
	if u == nil {
		return UserInfo{}, "", fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	before := *u
	for _, r := range up.Roles {
		if !a.roleExistsLocked(r) {
			return UserInfo{}, "", fmt.Errorf("%w: unknown role %q", ErrInvalid, r)
		}
	}
	if hash != "" {
		u.PasswordHash = hash
	}
	if up.Roles != nil {
		u.Roles = slices.Clone(up.Roles)
	}
	if up.Disabled != nil {
		u.Disabled = *up.Disabled
	}
	if up.Unlock {
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
	}
	secret := ""
	switch up.TOTP {
	case "":
	case "enable":
		secret = newTOTPSecret()
		u.TOTPSecret = secret
	case "disable":
		u.TOTPSecret = ""
	default:
		*u = before
		return UserInfo{}, "", fmt.Errorf("%w: totp %q: want enable or disable", ErrInvalid, up.TOTP)
	}
	if err := a.saveLocked(); err != nil {
		*u = before
		return UserInfo{}, "", err
	}
	if hash != "" || up.Disabled != nil || up.Roles != nil {
		a.session.dropUser(name) // credentials or rights changed: log out everywhere
	}
	return u.info(), secret, nil
}

// DeleteUser removes a user and ends their sessions.
func (a *Auth) DeleteUser(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.st.Users, func(u *User) bool { return u.Name == name })
	if i < 0 {
		return fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	old := slices.Clone(a.st.Users)
	a.st.Users = slices.Delete(a.st.Users, i, i+1)
	if err := a.saveLocked(); err != nil {
		a.st.Users = old
		return err
	}
	a.session.dropUser(name)
	return nil
}

// dummyHash is checked for unknown users so that a login takes the same
// time whether or not the user exists. It is computed on first use: argon2id with 64 MiB at package load would
// cost every mamori subcommand a second.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a real password, only for timing") // cannot fail: rand.Read panics rather than erring
	return h
})

// Login checks a user's password (and TOTP code when enabled), applies the
// lockout policy, and opens a session.
func (a *Auth) Login(name, password, code string) (*Session, Principal, error) {
	a.mu.Lock()
	u := a.userLocked(name)
	if u == nil || u.Disabled {
		a.mu.Unlock()
		checkPassword(dummyHash(), password)
		return nil, Principal{}, ErrUnauthenticated
	}
	now := a.now()
	if now.Before(u.LockedUntil) {
		a.mu.Unlock()
		return nil, Principal{}, ErrLocked
	}
	phc := u.PasswordHash
	totp := u.TOTPSecret
	a.mu.Unlock()

	ok := checkPassword(phc, password)
	if ok && totp != "" {
		if code == "" {
			return nil, Principal{}, ErrTOTPRequired
		}
		ok = checkTOTP(totp, code, now)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	u = a.userLocked(name)
	if u == nil {
		return nil, Principal{}, ErrUnauthenticated
	}
	if !ok {
		u.FailedLogins++
		if u.FailedLogins >= a.opts.LockoutAfter {
			u.LockedUntil = now.Add(a.opts.LockoutFor)
			u.FailedLogins = 0
			a.log.Warn("account locked after failed logins", "user", name, "until", u.LockedUntil)
		}
		if err := a.saveLocked(); err != nil {
			a.log.Error("save failed-login count", "err", err)
		}
		return nil, Principal{}, ErrUnauthenticated
	}
	u.FailedLogins, u.LastLogin = 0, now.UTC()
	if err := a.saveLocked(); err != nil {
		a.log.Error("save last login", "err", err)
	}
	p := a.principalLocked("user", u.Name, u.Name, u.Roles, nil, nil)
	return a.session.open(u.Name), p, nil
}

// AuthenticateSession returns the principal of a live session (renewing
// its idle timer).
func (a *Auth) AuthenticateSession(id string) (*Session, Principal, error) {
	s, ok := a.session.touch(id)
	if !ok {
		return nil, Principal{}, ErrUnauthenticated
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	u := a.userLocked(s.User)
	if u == nil || u.Disabled {
		return nil, Principal{}, ErrUnauthenticated
	}
	return &s, a.principalLocked("user", u.Name, u.Name, u.Roles, nil, nil), nil
}

// Logout ends a session.
func (a *Auth) Logout(id string) { a.session.close(id) }
