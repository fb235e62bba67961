package auth

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// Session is a UI login. ID goes in an HttpOnly cookie; CSRF must be sent
// back in the X-CSRF-Token header on every state-changing request.
type Session struct {
	ID       string
	CSRF     string
	User     string
	Created  time.Time
	LastSeen time.Time
}

// Sessions keeps live sessions in memory: a restart logs everyone out,
// which is the safe direction.
type Sessions struct {
	idle, max time.Duration
	now       func() time.Time

	mu   sync.Mutex // guards byID
	byID map[string]*Session
}

func newSessions(idle, max time.Duration, now func() time.Time) *Sessions {
	return &Sessions{idle: idle, max: max, now: now, byID: map[string]*Session{}}
}

func randomSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Sessions) open(user string) *Session {
	now := s.now()
	ss := &Session{ID: randomSecret(), CSRF: randomSecret(), User: user, Created: now, LastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gcLocked(now)
	s.byID[ss.ID] = ss
	return ss
}

// touch returns a live session and renews its idle timer.
func (s *Sessions) touch(id string) (Session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return Session{}, false
	}
	if now.Sub(ss.LastSeen) > s.idle || now.Sub(ss.Created) > s.max {
		delete(s.byID, id)
		return Session{}, false
	}
	ss.LastSeen = now
	return *ss, true
}

func (s *Sessions) close(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

func (s *Sessions) dropUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ss := range s.byID {
		if ss.User == user {
			delete(s.byID, id)
		}
	}
}

func (s *Sessions) gcLocked(now time.Time) {
	if len(s.byID) < 1024 {
		return
	}
	for id, ss := range s.byID {
		if now.Sub(ss.LastSeen) > s.idle || now.Sub(ss.Created) > s.max {
			delete(s.byID, id)
		}
	}
}
