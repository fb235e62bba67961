package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/atomicfile"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Notification states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateFailed    = "failed"  // a permanent error
	StateExpired   = "expired" // retried until MaxAge without success
)

// Notification is one message for one channel, as kept in the outbox.
type Notification struct {
	ID          string    `json:"id"`
	Channel     string    `json:"channel"`
	Message     Message   `json:"message"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	CreatedAt   time.Time `json:"created_at"`
	NextAttempt time.Time `json:"next_attempt"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// Options configures an Outbox.
type Options struct {
	Dir      string // required: one JSON file per notification
	Channels []Channel
	// MaxAge expires undelivered notifications (default 24h).
	MaxAge time.Duration
	// MinBackoff and MaxBackoff bound the retry delay (defaults 2s, 10m).
	MinBackoff, MaxBackoff time.Duration
	// Keep is how long delivered/failed notifications stay listed (default 7 days).
	Keep   time.Duration
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
}

// Outbox stores and delivers notifications.
type Outbox struct {
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	chans map[string]*Channel
	wake  chan struct{}

	mu    sync.Mutex // guards items
	items map[string]*Notification
}

// Open loads the outbox directory and validates the channels.
func Open(opts Options) (*Outbox, error) {
	if opts.Dir == "" {
		return nil, errors.New("open outbox: no directory")
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Minute
	}
	if opts.Keep <= 0 {
		opts.Keep = 7 * 24 * time.Hour
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	o := &Outbox{opts: opts, log: opts.Logger, now: opts.Now, chans: map[string]*Channel{}, wake: make(chan struct{}, 1), items: map[string]*Notification{}}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	var errs []error
	for i := range opts.Channels {
		c := &opts.Channels[i]
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := o.chans[c.Name]; dup {
			errs = append(errs, fmt.Errorf("channel %s: defined twice", c.Name))
		}
		o.chans[c.Name] = c
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("notification channels: %w", errors.Join(errs...))
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	ents, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(opts.Dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("open outbox: %w", err)
		}
		var n Notification
		if err := json.Unmarshal(b, &n); err != nil {
			o.log.Warn("skipping unreadable outbox entry", "file", e.Name(), "err", err)
			continue
		}
		o.items[n.ID] = &n
	}
	return o, nil
}

// Channels lists the configured channels (without secrets).
func (o *Outbox) Channels() []Channel {
	var out []Channel
	for _, c := range o.chans {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ErrUnknownChannel is returned for a channel name that is not configured.
var ErrUnknownChannel = errors.New("unknown notification channel")

// Enqueue stores m for every channel whose MinSeverity it reaches (or only
// for the named channel when channel is not empty).
func (o *Outbox) Enqueue(m Message, channel string) ([]Notification, error) {
	var out []Notification
	if channel != "" {
		if _, ok := o.chans[channel]; !ok {
			return nil, fmt.Errorf("%s: %w", channel, ErrUnknownChannel)
		}
	}
	for name, c := range o.chans {
		if channel != "" && name != channel {
			continue
		}
		if channel == "" && rank(m.Severity) < rank(c.MinSeverity) {
			continue
		}
		now := o.now()
		n := &Notification{ID: newID(), Channel: name, Message: m, State: StatePending, CreatedAt: now, NextAttempt: now}
		if err := o.save(n); err != nil {
			return out, err
		}
		o.mu.Lock()
		o.items[n.ID] = n
		o.mu.Unlock()
		out = append(out, *n)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return out, nil
}

func rank(sev string) int {
	switch sev {
	case "medium":
		return 1
	case "high":
		return 2
	case "critical":
		return 3
	}
	return 0
}

func newID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func (o *Outbox) save(n *Notification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("outbox save: %w", err)
	}
	path := filepath.Join(o.opts.Dir, n.ID+".json")
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("outbox save: %w", err)
	}
	return nil
}

// List returns notifications, newest first.
func (o *Outbox) List() []Notification {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Notification, 0, len(o.items))
	for _, n := range o.items {
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// Run delivers due notifications until ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		o.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-o.wake:
		}
	}
}

// deliverDue tries every pending notification whose time has come.
func (o *Outbox) deliverDue(ctx context.Context) {
	now := o.now()
	o.mu.Lock()
	var due []*Notification
	for id, n := range o.items {
		switch {
		case n.State == StatePending && !n.NextAttempt.After(now):
			cp := *n
			due = append(due, &cp)
		case n.State != StatePending && now.Sub(n.CreatedAt) > o.opts.Keep:
			delete(o.items, id)
			_ = os.Remove(filepath.Join(o.opts.Dir, id+".json")) // listing only; a leftover file is harmless
		}
	}
	o.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].CreatedAt.Before(due[j].CreatedAt) })
	for _, n := range due {
		if ctx.Err() != nil {
			return
		}
		o.attempt(ctx, n)
	}
}

func (o *Outbox) attempt(ctx context.Context, n *Notification) {
	c, ok := o.chans[n.Channel]
	now := o.now()
	var err error
	if !ok {
		err = fmt.Errorf("%w: channel %s is no longer configured", errPermanent, n.Channel)
	} else {
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		err = c.send(actx, o.opts.Client, n.Message, now)
		cancel()
	}
	n.Attempts++
	switch {
	case err == nil:
		n.State, n.DeliveredAt, n.LastError = StateDelivered, o.now(), ""
		o.log.Info("notification delivered", "channel", n.Channel, "id", n.ID, "attempts", n.Attempts)
	case errors.Is(err, errPermanent):
		n.State, n.LastError = StateFailed, err.Error()
		o.log.Error("notification failed", "channel", n.Channel, "id", n.ID, "err", err)
	case now.Sub(n.CreatedAt) >= o.opts.MaxAge:
		n.State, n.LastError = StateExpired, err.Error()
		o.log.Error("notification expired undelivered", "channel", n.Channel, "id", n.ID, "attempts", n.Attempts, "err", err)
	default:
		back := o.opts.MinBackoff << min(n.Attempts-1, 20)
		if back > o.opts.MaxBackoff || back <= 0 {
			back = o.opts.MaxBackoff
		}
		n.NextAttempt, n.LastError = now.Add(back), err.Error()
		o.log.Warn("notification delivery failed; will retry", "channel", n.Channel, "id", n.ID, "attempt", n.Attempts, "retry_in", back, "err", err)
	}
	if serr := o.save(n); serr != nil {
		o.log.Error("outbox save", "err", serr)
	}
	o.mu.Lock()
	if cur, ok := o.items[n.ID]; ok {
		*cur = *n
	}
	o.mu.Unlock()
}
