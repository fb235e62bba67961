package ingest

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Credential is the ingest token of a listener (syslog, GELF, Fluent...),
// checked with the Authenticator on first use and again every Recheck, so
// revoking the token stops the listener's ingest within Recheck. A
// transient authenticator failure keeps the last answer. Safe for
// concurrent use.
type Credential struct {
	Auth    Authenticator
	Token   string
	Recheck time.Duration    // default 30s
	Now     func() time.Time // default time.Now

	mu        sync.Mutex // guards principal, err and at
	principal Principal
	err       error
	at        time.Time
}

// Principal returns who the token is, or why it is refused.
func (c *Credential) Principal(ctx context.Context) (Principal, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	recheck := c.Recheck
	if recheck <= 0 {
		recheck = 30 * time.Second
	}
	if !c.at.IsZero() && now.Sub(c.at) < recheck {
		return c.principal, c.err
	}
	p, err := c.Auth.AuthenticateIngest(ctx, c.Token)
	if err != nil && !errors.Is(err, ErrUnauthorized) && !c.at.IsZero() {
		return c.principal, c.err // a transient failure: keep the last answer
	}
	c.principal, c.err, c.at = p, err, now
	return p, err
}
