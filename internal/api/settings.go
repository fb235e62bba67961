package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
	"github.com/mamori/mamori/internal/store"
)

// RetentionControl is implemented by a store whose retention and disk
// budget can change while it runs. Both methods may be called
// concurrently with appends, searches and the store's own retention pass.
type RetentionControl interface {
	// Retention returns the maximum age of events in partitions without
	// an age of their own (0: keep forever), the per-partition ages, and
	// the disk budget in bytes (0: unlimited). The map is the caller's.
	Retention() (defaultAge time.Duration, ages map[string]time.Duration, diskBudgetBytes int64)
	// SetRetention replaces all three at once; the next retention pass
	// applies them (legal holds still protect their parts). It rejects
	// negative values and bad partition names, changing nothing.
	SetRetention(defaultAge time.Duration, ages map[string]time.Duration, diskBudgetBytes int64) error
}

// storageFile keeps the retention settings changed through the API, so
// they survive a restart; they win over the configuration file's.
const storageFile = "storage.json"

// storageRequest is the body of PUT /api/v1/settings/storage and the
// content of storageFile. Ages are Go durations or days ("90d"); "0" or ""
// means keep forever.
type storageRequest struct {
	DefaultRetention string            `json:"default_retention"`
	Partitions       map[string]string `json:"partitions"`
	DiskBudgetBytes  int64             `json:"disk_budget_bytes"`
	// Confirm must be true when the change shortens a retention or the
	// disk budget (data will be deleted at the next retention pass).
	Confirm bool `json:"confirm,omitempty"`
}

type partitionInfo struct {
	Name      string `json:"name"`
	Retention string `json:"retention"`         // effective age ("0": forever)
	Own       bool   `json:"own"`               // an age of its own, not the default
	Parts     int    `json:"parts"`             // parts on disk
	Bytes     int64  `json:"bytes"`             // bytes on disk
	Rows      int64  `json:"rows"`              // events on disk
	Pending   bool   `json:"pending,omitempty"` // has an age but no data yet
}

type storageAnswer struct {
	Editable         bool            `json:"editable"`
	Reason           string          `json:"reason,omitempty"` // why not editable
	DefaultRetention string          `json:"default_retention"`
	DiskBudgetBytes  int64           `json:"disk_budget_bytes"`
	DiskUsedBytes    int64           `json:"disk_used_bytes"`
	Partitions       []partitionInfo `json:"partitions"`
	Overridden       bool            `json:"overridden"` // settings come from the API, not the config file
	UpdatedBy        string          `json:"updated_by,omitempty"`
	Updated          time.Time       `json:"updated,omitzero"`
}

// storageSettings serves the storage settings and remembers the last
// change made through the API.
type storageSettings struct {
	h   *Handler
	ctl RetentionControl // nil: read-only

	mu        sync.Mutex // serializes changes and guards the fields below
	overrode  bool
	updatedBy string
	updated   time.Time
}

type storageState struct {
	storageRequest
	UpdatedBy string    `json:"updated_by,omitempty"`
	Updated   time.Time `json:"updated,omitzero"`
}

// newStorageSettings finds the retention control and applies the
// settings saved by an earlier change, which win over the configuration
// file's (logged at start, shown in the UI as overridden).
func newStorageSettings(h *Handler) *storageSettings {
	ss := &storageSettings{h: h, ctl: h.opts.Retention}
	if ss.ctl == nil {
		ss.ctl, _ = h.opts.Store.(RetentionControl) // a store without run-time settings stays read-only
	}
	if ss.ctl == nil || h.opts.UIDir == "" {
		return ss
	}
	b, err := os.ReadFile(filepath.Join(h.opts.UIDir, storageFile)) // #nosec G304 -- the server's own DATA/ui file
	if errors.Is(err, os.ErrNotExist) {
		return ss
	}
	var st storageState
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	var def time.Duration
	var ages map[string]time.Duration
	if err == nil {
		def, ages, err = st.parse()
	}
	if err == nil {
		err = ss.ctl.SetRetention(def, ages, st.DiskBudgetBytes)
	}
	if err != nil {
		h.log.Error("storage settings saved through the API not applied; the configuration file's are in force", "file", storageFile, "err", err)
		return ss
	}
	ss.overrode, ss.updatedBy, ss.updated = true, st.UpdatedBy, st.Updated
	h.log.Info("storage settings from the API applied over the configuration file's", "default_retention", st.DefaultRetention, "partitions", len(ages), "disk_budget_bytes", st.DiskBudgetBytes)
	return ss
}

// parse checks every field, reporting all problems at once.
func (req *storageRequest) parse() (time.Duration, map[string]time.Duration, error) {
	var probs []string
	age := func(what, s string) time.Duration {
		s = strings.TrimSpace(s)
		if s == "" || s == "0" || s == "forever" {
			return 0
		}
		d, err := parseDays(s)
		switch {
		case err != nil:
			probs = append(probs, fmt.Sprintf("%s: %q is not a duration like 90d or 36h", what, s))
		case d < 0:
			probs = append(probs, fmt.Sprintf("%s: %s is negative", what, s))
		case d > 0 && d < time.Hour:
			probs = append(probs, fmt.Sprintf("%s: %s is shorter than an hour", what, s))
		}
		return d
	}
	def := age("default retention", req.DefaultRetention)
	ages := make(map[string]time.Duration, len(req.Partitions))
	for name, s := range req.Partitions {
		if err := validPartitionName(name); err != nil {
			probs = append(probs, err.Error())
			continue
		}
		ages[name] = age("retention of "+name, s)
	}
	if req.DiskBudgetBytes < 0 {
		probs = append(probs, "disk budget: negative")
	} else if req.DiskBudgetBytes > 0 && req.DiskBudgetBytes < 1<<20 {
		probs = append(probs, "disk budget: below 1 MiB (0 means unlimited)")
	}
	if len(probs) > 0 {
		return 0, nil, invalidf("storage settings: %s", strings.Join(probs, "; "))
	}
	return def, ages, nil
}

// validPartitionName mirrors the store's rule (1-64 letters, digits, '_'
// and '-') so the answer names every bad entry at once.
func validPartitionName(name string) error {
	ok := name != "" && len(name) <= 64
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	if !ok {
		return fmt.Errorf("partition %q: 1-64 letters, digits, '_' or '-'", name)
	}
	return nil
}

// fmtAge writes an age the way the configuration file does ("90d").
func fmtAge(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func (h *Handler) storageRoutes() []route {
	return []route{
		{"GET /api/v1/settings/storage", auth.CapAdmin, h.getStorage},
		{"PUT /api/v1/settings/storage", auth.CapAdmin, h.putStorage},
	}
}

func (h *Handler) getStorage(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.ui.storage.answer())
}

func (ss *storageSettings) answer() storageAnswer {
	ans := storageAnswer{Editable: ss.ctl != nil, DefaultRetention: "0", Partitions: []partitionInfo{}}
	var def time.Duration
	ages := map[string]time.Duration{}
	if ss.ctl != nil {
		def, ages, ans.DiskBudgetBytes = ss.ctl.Retention()
		ans.DefaultRetention = fmtAge(def)
		if ss.h.opts.UIDir == "" {
			ans.Reason = "changes apply until the next restart: this server keeps no UI state directory"
		}
	} else {
		ans.Reason = "this store cannot change retention while it runs; edit retention and disk_budget in the configuration file and restart"
	}
	ss.mu.Lock()
	ans.Overridden, ans.UpdatedBy, ans.Updated = ss.overrode, ss.updatedBy, ss.updated
	ss.mu.Unlock()
	seen := map[string]bool{}
	if m, ok := ss.h.opts.Store.(interface{ Metrics() store.Metrics }); ok {
		for _, pm := range m.Metrics().Partitions {
			d, own := ages[pm.Name]
			if !own {
				d = def
			}
			seen[pm.Name] = true
			ans.DiskUsedBytes += pm.Bytes
			ans.Partitions = append(ans.Partitions, partitionInfo{Name: pm.Name, Retention: fmtAge(d), Own: own, Parts: pm.Parts, Bytes: pm.Bytes, Rows: pm.Rows})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ages)) {
		if !seen[name] {
			ans.Partitions = append(ans.Partitions, partitionInfo{Name: name, Retention: fmtAge(ages[name]), Own: true, Pending: true})
		}
	}
	return ans
}

func (h *Handler) putStorage(w http.ResponseWriter, r *http.Request) {
	ss := h.ui.storage
	if ss.ctl == nil {
		h.writeError(w, r, invalidf("this store cannot change retention while it runs; edit retention and disk_budget in the configuration file and restart"), nil)
		return
	}
	var req storageRequest
	if err := decodeJSON(w, r, "storage settings", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	def, ages, err := req.parse()
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	if err := ss.apply(r, p, req, def, ages); err != nil {
		var extra map[string]any
		if errors.Is(err, errConfirm) {
			extra = map[string]any{"confirm_required": true}
		}
		h.writeError(w, r, err, extra)
		return
	}
	writeJSON(w, http.StatusOK, ss.answer())
}

var errConfirm = fmt.Errorf("%w: this change deletes data", errInvalid)

// apply checks that a shortening is confirmed, changes the store, saves
// the settings and audits the change.
func (ss *storageSettings) apply(r *http.Request, p auth.Principal, req storageRequest, def time.Duration, ages map[string]time.Duration) error {
	h := ss.h
	ss.mu.Lock()
	defer ss.mu.Unlock()
	oldDef, oldAges, oldBudget := ss.ctl.Retention()
	if shorter := shortened(oldDef, oldAges, oldBudget, def, ages, req.DiskBudgetBytes); len(shorter) > 0 && !req.Confirm {
		return fmt.Errorf("%w at the next retention pass (%s); send \"confirm\": true to apply it", errConfirm, strings.Join(shorter, "; "))
	}
	if err := ss.ctl.SetRetention(def, ages, req.DiskBudgetBytes); err != nil {
		return fmt.Errorf("%w: %w", errInvalid, err)
	}
	now := h.now().UTC()
	if h.opts.UIDir != "" {
		req.Confirm = false
		b, _ := json.MarshalIndent(storageState{storageRequest: req, UpdatedBy: displayName(p), Updated: now}, "", "  ") // plain strings and numbers: cannot fail
		err := os.MkdirAll(h.opts.UIDir, 0o700)
		if err == nil {
			err = atomicfile.Write(filepath.Join(h.opts.UIDir, storageFile), b, 0o600)
		}
		if err != nil {
			// The store runs with the new settings; say they will not survive a restart.
			h.auditf(r, p, "storage_settings", "retention", "failure", map[string]string{"reason": "applied but not saved: " + err.Error()})
			return fmt.Errorf("storage settings applied but not saved (they end at the next restart): %w", err)
		}
	}
	ss.overrode, ss.updatedBy, ss.updated = true, displayName(p), now
	h.auditf(r, p, "storage_settings", "retention", "success", map[string]string{
		"default_retention": fmtAge(oldDef) + " -> " + fmtAge(def),
		"partitions":        agesString(oldAges) + " -> " + agesString(ages),
		"disk_budget_bytes": strconv.FormatInt(oldBudget, 10) + " -> " + strconv.FormatInt(req.DiskBudgetBytes, 10),
	})
	return nil
}

// shortened lists the changes that make data expire sooner.
func shortened(oldDef time.Duration, oldAges map[string]time.Duration, oldBudget int64, def time.Duration, ages map[string]time.Duration, budget int64) []string {
	eff := func(d time.Duration) time.Duration {
		if d <= 0 {
			return time.Duration(1<<63 - 1)
		}
		return d
	}
	words := func(d time.Duration) string {
		if d <= 0 {
			return "forever"
		}
		return fmtAge(d)
	}
	var out []string
	if eff(def) < eff(oldDef) {
		out = append(out, "default retention "+words(oldDef)+" → "+words(def))
	}
	names := slices.Sorted(maps.Keys(ages))
	for _, name := range slices.Sorted(maps.Keys(oldAges)) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		o, ok := oldAges[name]
		if !ok {
			o = oldDef
		}
		n, ok := ages[name]
		if !ok {
			n = def
		}
		if eff(n) < eff(o) {
			out = append(out, name+" "+words(o)+" → "+words(n))
		}
	}
	if budget > 0 && (oldBudget <= 0 || budget < oldBudget) {
		out = append(out, "disk budget lowered to "+strconv.FormatInt(budget, 10)+" bytes")
	}
	return out
}

func agesString(m map[string]time.Duration) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+fmtAge(m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
