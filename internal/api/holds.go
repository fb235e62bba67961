package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/atomicfile"
	"github.com/mamori/mamori/internal/auth"
)

// AllPartitions in a hold's Partition covers every partition.
const AllPartitions = "*"

// Hold is a legal hold: the events of a partition (or of every partition)
// within a time range are exempt from retention and the disk budget until
// the hold is released. A released hold stays listed, with who released it
// and when, so the record of what was protected survives.
type Hold struct {
	ID        string `json:"id"`
	Partition string `json:"partition"` // a partition name or "*"
	// From and To bound the held events' times (inclusive); a zero bound
	// is open (From zero: since the beginning; To zero: forever on).
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	Reason     string    `json:"reason"`
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	ReleasedBy string    `json:"released_by,omitempty"`
	ReleasedAt time.Time `json:"released_at,omitzero"`
	// Config marks holds from the configuration file: they are released by
	// editing the file, not through the API.
	Config bool `json:"config,omitempty"`
}

// Active reports whether the hold still protects data.
func (hd *Hold) Active() bool { return hd.ReleasedAt.IsZero() }

// covers reports whether the active hold protects events of partition p
// with times in [minT, maxT] (Unix ns; 0 means unknown, taken as open).
func (hd *Hold) covers(p string, minT, maxT int64) bool {
	if !hd.Active() || (hd.Partition != AllPartitions && hd.Partition != p) {
		return false
	}
	if !hd.From.IsZero() && maxT != 0 && maxT < hd.From.UnixNano() {
		return false
	}
	if !hd.To.IsZero() && minT != 0 && minT > hd.To.UnixNano() {
		return false
	}
	return true
}

// validate reports every problem of a hold definition.
func (hd *Hold) validate() error {
	var probs []string
	switch {
	case hd.Partition == "":
		probs = append(probs, `partition: required (a name, or "*" for every partition)`)
	case hd.Partition != AllPartitions && strings.ContainsAny(hd.Partition, " \t\r\n/\\*"):
		probs = append(probs, fmt.Sprintf("partition %q: not a partition name", hd.Partition))
	}
	if strings.TrimSpace(hd.Reason) == "" {
		probs = append(probs, "reason: required (the case or request the hold is for)")
	}
	if len(hd.Reason) > 1024 {
		probs = append(probs, "reason: at most 1024 bytes")
	}
	if !hd.From.IsZero() && !hd.To.IsZero() && hd.To.Before(hd.From) {
		probs = append(probs, "to: before from")
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: legal hold: %s", errInvalid, strings.Join(probs, "; "))
	}
	return nil
}

// HoldsOptions configures OpenHolds.
type HoldsOptions struct {
	// Path is the JSON file the holds are kept in (DATA/holds.json).
	Path string
	// Config are holds from the configuration file, active while listed
	// there; they get IDs "config-1", "config-2"... in order.
	Config []Hold
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Holds is the list of legal holds. Covers is what the store's retention
// asks before it deletes a part. It is safe for concurrent use.
type Holds struct {
	path   string
	now    func() time.Time
	config []Hold

	mu   sync.RWMutex // guards list
	list []Hold
}

// OpenHolds loads the holds file. A file that cannot be read or parsed is
// an error, never an empty list: silently forgetting a hold would let
// retention delete evidence.
func OpenHolds(opts HoldsOptions) (*Holds, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("open legal holds: %w: no path", errInvalid)
	}
	hs := &Holds{path: opts.Path, now: opts.Now}
	if hs.now == nil {
		hs.now = time.Now
	}
	var errs []error
	for i, hd := range opts.Config {
		hd.ID, hd.Config, hd.ReleasedAt, hd.ReleasedBy = fmt.Sprintf("config-%d", i+1), true, time.Time{}, ""
		if err := hd.validate(); err != nil {
			errs = append(errs, fmt.Errorf("hold %d: %w", i+1, err))
		}
		hs.config = append(hs.config, hd)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("open legal holds: %w", errors.Join(errs...))
	}
	b, err := os.ReadFile(opts.Path) // #nosec G304 -- the path is the server's own DATA/holds.json, not request input
	switch {
	case errors.Is(err, os.ErrNotExist):
		return hs, nil
	case err != nil:
		return nil, fmt.Errorf("open legal holds: %w", err)
	}
	list, err := parseHolds(b)
	if err != nil {
		return nil, fmt.Errorf("open legal holds %s: %w", opts.Path, err)
	}
	hs.list = list
	return hs, nil
}

// parseHolds decodes a holds file strictly.
func parseHolds(b []byte) ([]Hold, error) {
	var f struct {
		Holds []Hold `json:"holds"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	seen := map[string]bool{}
	for i := range f.Holds {
		hd := &f.Holds[i]
		if hd.ID == "" || seen[hd.ID] {
			return nil, fmt.Errorf("hold %d: missing or repeated id %q", i+1, hd.ID)
		}
		seen[hd.ID] = true
		if err := hd.validate(); err != nil {
			return nil, fmt.Errorf("hold %s: %w", hd.ID, err)
		}
	}
	return f.Holds, nil
}

// Covers reports whether an active legal hold protects events of partition
// with times in [minT, maxT] (Unix ns, inclusive; 0 means unknown and is
// taken as open). The store's retention and disk budget must keep a part
// for which it returns true. A nil *Holds covers nothing.
func (hs *Holds) Covers(partition string, minT, maxT int64) bool {
	if hs == nil {
		return false
	}
	for i := range hs.config {
		if hs.config[i].covers(partition, minT, maxT) {
			return true
		}
	}
	hs.mu.RLock()
	defer hs.mu.RUnlock()
	for i := range hs.list {
		if hs.list[i].covers(partition, minT, maxT) {
			return true
		}
	}
	return false
}

// List returns every hold, from the configuration first, then the others
// oldest first, released ones included.
func (hs *Holds) List() []Hold {
	hs.mu.RLock()
	defer hs.mu.RUnlock()
	return append(slices.Clone(hs.config), hs.list...)
}

// Add validates and stores a new hold, giving it an ID and creation time.
func (hs *Holds) Add(hd Hold) (Hold, error) {
	hd.ID, hd.Config, hd.ReleasedAt, hd.ReleasedBy = newHoldID(), false, time.Time{}, ""
	hd.CreatedAt = hs.now().UTC()
	if err := hd.validate(); err != nil {
		return Hold{}, err
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	next := append(slices.Clone(hs.list), hd)
	if err := hs.saveLocked(next); err != nil {
		return Hold{}, err
	}
	hs.list = next
	return hd, nil
}

// Release ends a hold made through the API; it stays listed as released.
func (hs *Holds) Release(id, by string) (Hold, error) {
	if strings.HasPrefix(id, "config-") {
		return Hold{}, fmt.Errorf("%w: hold %s comes from the configuration file; remove it there", errInvalid, id)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	i := slices.IndexFunc(hs.list, func(hd Hold) bool { return hd.ID == id })
	if i < 0 {
		return Hold{}, fmt.Errorf("legal hold %s: %w", id, errNotFound)
	}
	if !hs.list[i].Active() {
		return hs.list[i], nil
	}
	next := slices.Clone(hs.list)
	next[i].ReleasedAt, next[i].ReleasedBy = hs.now().UTC(), by
	if err := hs.saveLocked(next); err != nil {
		return Hold{}, err
	}
	hs.list = next
	return next[i], nil
}

// saveLocked writes list atomically (temp file, fsync, rename). Callers
// hold hs.mu for writing.
func (hs *Holds) saveLocked(list []Hold) error {
	b, err := json.MarshalIndent(map[string][]Hold{"holds": list}, "", "  ")
	if err != nil {
		return fmt.Errorf("save legal holds: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(hs.path), 0o700); err != nil {
		return fmt.Errorf("save legal holds: %w", err)
	}
	if err := atomicfile.Write(hs.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save legal holds: %w", err)
	}
	return nil
}

func newHoldID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return "hold-" + hex.EncodeToString(b)
}

// holdRequest is the body of POST /api/v1/holds; from and to take RFC 3339
// times or relative ones (-30d), like search.
type holdRequest struct {
	Partition string `json:"partition"`
	From      string `json:"from"`
	To        string `json:"to"`
	Reason    string `json:"reason"`
}

// parseHoldRequest turns a request body into a hold to add.
func parseHoldRequest(req holdRequest, now time.Time) (Hold, error) {
	hd := Hold{Partition: strings.TrimSpace(req.Partition), Reason: strings.TrimSpace(req.Reason)}
	var errs []error
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"from", req.From, &hd.From}, {"to", req.To, &hd.To}} {
		if f.v == "" {
			continue
		}
		t, err := parseHoldTime(f.v, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
			continue
		}
		*f.dst = t
	}
	if len(errs) > 0 {
		return Hold{}, fmt.Errorf("%w: legal hold: %w", errInvalid, errors.Join(errs...))
	}
	return hd, hd.validate()
}

// parseHoldTime accepts RFC 3339 or a relative time like -30d, -12h, now.
func parseHoldTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if s == "now" {
		return now.UTC(), nil
	}
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		var d time.Duration
		var err error
		if days, ok := strings.CutSuffix(rest, "d"); ok {
			var n int
			n, err = strconv.Atoi(days)
			if err == nil && (n < 0 || n > 1_000_000) {
				err = errInvalid
			}
			d = time.Duration(n) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(rest)
		}
		if err == nil && d >= 0 {
			return now.Add(-d).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-01-02T15:04:05Z), now, or relative like -30d", s)
}

// holdRoutes are the legal-hold endpoints: auditors may read them; only
// administrators (who own retention) place and release holds.
func (h *Handler) holdRoutes() []route {
	return []route{
		{"GET /api/v1/holds", auth.CapAudit, h.listHolds},
		{"POST /api/v1/holds", auth.CapAdmin, h.createHold},
		{"DELETE /api/v1/holds/{id}", auth.CapAdmin, h.releaseHold},
	}
}

var errHoldsOff = fmt.Errorf("%w: legal holds are not enabled on this server", errNotFound)

func (h *Handler) listHolds(w http.ResponseWriter, r *http.Request) {
	if h.opts.Holds == nil {
		h.writeError(w, r, errHoldsOff, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"holds": h.opts.Holds.List()})
}

func (h *Handler) createHold(w http.ResponseWriter, r *http.Request) {
	if h.opts.Holds == nil {
		h.writeError(w, r, errHoldsOff, nil)
		return
	}
	var req holdRequest
	if err := decodeJSON(w, r, "legal hold request", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	hd, err := parseHoldRequest(req, h.now())
	if err == nil {
		p, _ := PrincipalFrom(r.Context())
		hd.CreatedBy = p.Kind + ":" + p.ID
		hd, err = h.opts.Holds.Add(hd)
	}
	p, _ := PrincipalFrom(r.Context())
	if err != nil {
		h.auditf(r, p, "hold_create", req.Partition, "failure", map[string]string{"reason": printable(err.Error())})
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "hold_create", hd.ID, "success", holdDetails(hd))
	writeJSON(w, http.StatusCreated, hd)
}

func (h *Handler) releaseHold(w http.ResponseWriter, r *http.Request) {
	if h.opts.Holds == nil {
		h.writeError(w, r, errHoldsOff, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	id := r.PathValue("id")
	hd, err := h.opts.Holds.Release(id, p.Kind+":"+p.ID)
	if err != nil {
		h.auditf(r, p, "hold_release", id, "failure", map[string]string{"reason": printable(err.Error())})
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "hold_release", hd.ID, "success", holdDetails(hd))
	writeJSON(w, http.StatusOK, hd)
}

func holdDetails(hd Hold) map[string]string {
	d := map[string]string{"partition": hd.Partition, "reason": printable(hd.Reason)}
	if !hd.From.IsZero() {
		d["from"] = hd.From.Format(time.RFC3339Nano)
	}
	if !hd.To.IsZero() {
		d["to"] = hd.To.Format(time.RFC3339Nano)
	}
	return d
}
