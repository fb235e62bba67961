package ingest

import (
	"context"
	"errors"
	"testing"
	"time"
)

type fakeAuth struct {
	calls  int
	answer error
}

func (f *fakeAuth) AuthenticateIngest(_ context.Context, secret string) (Principal, error) {
	f.calls++
	if f.answer != nil {
		return Principal{}, f.answer
	}
	return Principal{TokenID: secret}, nil
}

func TestCredential(t *testing.T) {
	now := time.Unix(0, 0)
	fa := &fakeAuth{}
	c := &Credential{Auth: fa, Token: "t1", Recheck: time.Minute, Now: func() time.Time { return now }}
	ctx := context.Background()
	if p, err := c.Principal(ctx); err != nil || p.TokenID != "t1" {
		t.Fatalf("first check: %+v %v", p, err)
	}
	c.Principal(ctx)
	if fa.calls != 1 {
		t.Fatalf("%d authenticator calls within Recheck, want 1", fa.calls)
	}
	// A transient failure keeps the last answer.
	now = now.Add(2 * time.Minute)
	fa.answer = errors.New("database down")
	if _, err := c.Principal(ctx); err != nil {
		t.Fatalf("transient failure replaced the answer: %v", err)
	}
	// A revocation takes effect at the next recheck.
	fa.answer = ErrUnauthorized
	if _, err := c.Principal(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("revoked token still accepted: %v", err)
	}
}
