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

// Saved searches and dashboards are small JSON documents kept server-side
// so that they follow a user from browser to browser and can be shared.
// Each belongs to the principal that created it ("user:ana",
// "token:3f2a…"); a shared one is readable (and usable) by everyone with
// the search capability, but only its owner or an admin may change or
// delete it. Each kind is one JSON file in Options.UIDir, rewritten
// crash-safely (atomicfile) on every change.

// Limits of saved objects.
const (
	maxSavedPerKind  = 10_000
	maxSavedName     = 100
	maxSavedQuery    = 10_000
	maxSavedPanels   = 50
	maxSavedBodySize = 1 << 20
)

// Panel kinds and widths a dashboard may hold (the UI's grid is 12 wide).
var (
	panelKinds  = []string{"line", "bar", "table", "single"}
	panelWidths = []int{3, 4, 6, 8, 12}
)

// Panel is one dashboard panel: a query drawn as a time series, bars, a
// table or a single value.
type Panel struct {
	ID    string `json:"id,omitempty"`
	Title string `json:"title"`
	Query string `json:"query"`
	Kind  string `json:"kind"`
	W     int    `json:"w"`
}

// Saved is a saved search (Query, From, To) or a dashboard (Panels, From,
// Refresh). Owner, Created and Updated are set by the server.
type Saved struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Owner  string `json:"owner"`      // "kind:id" of the creating principal
	Author string `json:"owner_name"` // display name of the owner
	Shared bool   `json:"shared"`
	// Search: the query and its time range (relative text kept as typed).
	Query string `json:"query,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	// Dashboard: the panels and the auto-refresh period in seconds.
	Panels    []Panel   `json:"panels,omitempty"`
	Refresh   int       `json:"refresh,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// uiState is the server-side state of the web UI.
type uiState struct {
	searches   *savedStore
	dashboards *savedStore
	storage    *storageSettings
	setupMu    sync.Mutex // serializes first-run setups
}

func newUIState(h *Handler) *uiState {
	dir := h.opts.UIDir
	return &uiState{
		searches:   &savedStore{kind: kindSearch, dir: dir, now: h.now},
		dashboards: &savedStore{kind: kindDashboard, dir: dir, now: h.now},
		storage:    newStorageSettings(h),
	}
}

// savedKind describes one collection: its URL, file and JSON list key.
type savedKind struct {
	name      string // "saved search"
	path      string // "/api/v1/saved-searches"
	file      string // "saved-searches.json"
	listKey   string // "saved_searches"
	audit     string // "saved_search"
	dashboard bool
}

var (
	kindSearch    = savedKind{"saved search", "/api/v1/saved-searches", "saved-searches.json", "saved_searches", "saved_search", false}
	kindDashboard = savedKind{"dashboard", "/api/v1/dashboards", "dashboards.json", "dashboards", "dashboard", true}
)

// savedStore is one collection, loaded on first use. A file that cannot
// be parsed is an error for every call, never an empty list that the next
// write would save over the user's work.
type savedStore struct {
	kind savedKind
	dir  string
	now  func() time.Time

	mu     sync.Mutex // guards items and loaded
	items  []Saved
	loaded bool
}

func (s *savedStore) loadLocked() error {
	if s.loaded {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, s.kind.file)) // #nosec G304 -- the server's own DATA/ui file
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("load %ss: %w", s.kind.name, err)
	default:
		if err := json.Unmarshal(b, &s.items); err != nil {
			return fmt.Errorf("load %ss: parse %s: %w", s.kind.name, s.kind.file, err)
		}
	}
	s.loaded = true
	return nil
}

func (s *savedStore) saveLocked(items []Saved) error {
	b, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		return fmt.Errorf("save %ss: %w", s.kind.name, err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("save %ss: %w", s.kind.name, err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, s.kind.file), b, 0o600); err != nil {
		return fmt.Errorf("save %ss: %w", s.kind.name, err)
	}
	s.items = items
	return nil
}

// ownerOf is the stable owner key of a principal.
func ownerOf(p auth.Principal) string { return p.Kind + ":" + p.ID }

func canSee(p auth.Principal, it *Saved) bool {
	return it.Shared || it.Owner == ownerOf(p) || p.Can(auth.CapAdmin)
}

func canChange(p auth.Principal, it *Saved) bool {
	return it.Owner == ownerOf(p) || p.Can(auth.CapAdmin)
}

// list returns p's own items first, then shared ones, each by name; with
// all, an admin also gets everyone's private items (which an admin may
// read and change by id anyway, but does not want in every picker).
func (s *savedStore) list(p auth.Principal, all bool) ([]Saved, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLocked(); err != nil {
		return nil, err
	}
	out := []Saved{}
	me := ownerOf(p)
	for i := range s.items {
		it := &s.items[i]
		if it.Shared || it.Owner == me || all && p.Can(auth.CapAdmin) {
			out = append(out, s.items[i])
		}
	}
	slices.SortStableFunc(out, func(a, b Saved) int {
		if (a.Owner == me) != (b.Owner == me) {
			if a.Owner == me {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}

func (s *savedStore) get(p auth.Principal, id string) (Saved, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.findLocked(p, id, "")
	if err != nil {
		return Saved{}, err
	}
	return s.items[i], nil
}

// findLocked loads the collection and returns the index of item id, which
// p must see and, when verb is set ("change", "delete"), may change.
func (s *savedStore) findLocked(p auth.Principal, id, verb string) (int, error) {
	if err := s.loadLocked(); err != nil {
		return -1, err
	}
	i := slices.IndexFunc(s.items, func(it Saved) bool { return it.ID == id })
	if i < 0 || !canSee(p, &s.items[i]) {
		return -1, fmt.Errorf("%s %s: %w", s.kind.name, id, errNotFound)
	}
	if it := &s.items[i]; verb != "" && !canChange(p, it) {
		return -1, fmt.Errorf("%w: %s %q belongs to %s; only its owner or an admin may %s it", auth.ErrForbidden, s.kind.name, it.Name, it.Author, verb)
	}
	return i, nil
}

// create stores a new item owned by p.
func (s *savedStore) create(p auth.Principal, in Saved) (Saved, error) {
	if err := s.clean(&in); err != nil {
		return Saved{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLocked(); err != nil {
		return Saved{}, err
	}
	if len(s.items) >= maxSavedPerKind {
		return Saved{}, invalidf("%s: the server keeps at most %d; delete some first", s.kind.name, maxSavedPerKind)
	}
	now := s.now().UTC()
	in.ID, in.Owner, in.Author, in.Created, in.Updated, in.UpdatedBy = newSavedID(), ownerOf(p), displayName(p), now, now, ""
	if err := s.saveLocked(append(slices.Clone(s.items), in)); err != nil {
		return Saved{}, err
	}
	return in, nil
}

// update replaces the user-editable fields of an item p may change.
func (s *savedStore) update(p auth.Principal, id string, in Saved) (Saved, error) {
	if err := s.clean(&in); err != nil {
		return Saved{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.findLocked(p, id, "change")
	if err != nil {
		return Saved{}, err
	}
	old := s.items[i]
	in.ID, in.Owner, in.Author, in.Created = old.ID, old.Owner, old.Author, old.Created
	in.Updated, in.UpdatedBy = s.now().UTC(), displayName(p)
	items := slices.Clone(s.items)
	items[i] = in
	if err := s.saveLocked(items); err != nil {
		return Saved{}, err
	}
	return in, nil
}

func (s *savedStore) remove(p auth.Principal, id string) (Saved, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.findLocked(p, id, "delete")
	if err != nil {
		return Saved{}, err
	}
	old := s.items[i]
	if err := s.saveLocked(slices.Delete(slices.Clone(s.items), i, i+1)); err != nil {
		return Saved{}, err
	}
	return old, nil
}

// clean validates the user's fields, reporting every problem at once, and
// fills defaults. Fields of the other kind are dropped.
func (s *savedStore) clean(in *Saved) error {
	var probs []string
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		probs = append(probs, "name: required")
	case len(in.Name) > maxSavedName:
		probs = append(probs, fmt.Sprintf("name: at most %d bytes", maxSavedName))
	}
	if in.From == "" {
		in.From = "-1h"
	}
	if len(in.From) > 64 || len(in.To) > 64 {
		probs = append(probs, "from/to: at most 64 bytes")
	}
	if s.kind.dashboard {
		in.Query, in.To = "", ""
		probs = append(probs, cleanPanels(in)...)
	} else {
		in.Panels, in.Refresh = nil, 0
		in.Query = strings.TrimSpace(in.Query)
		switch {
		case in.Query == "":
			probs = append(probs, "query: required")
		case len(in.Query) > maxSavedQuery:
			probs = append(probs, fmt.Sprintf("query: at most %d bytes", maxSavedQuery))
		}
	}
	if len(probs) > 0 {
		return invalidf("%s: %s", s.kind.name, strings.Join(probs, "; "))
	}
	return nil
}

func cleanPanels(in *Saved) []string {
	var probs []string
	if in.Refresh < 0 || in.Refresh > 86400 {
		probs = append(probs, "refresh: 0 (off) to 86400 seconds")
	}
	if len(in.Panels) > maxSavedPanels {
		probs = append(probs, fmt.Sprintf("panels: at most %d", maxSavedPanels))
	}
	for i := range in.Panels {
		pn := &in.Panels[i]
		pn.Query = strings.TrimSpace(pn.Query)
		pn.Title = strings.TrimSpace(pn.Title)
		if pn.Title == "" {
			pn.Title = pn.Query
		}
		if len(pn.Title) > maxSavedName {
			pn.Title = strings.ToValidUTF8(pn.Title[:maxSavedName], "")
		}
		if pn.ID == "" || len(pn.ID) > 64 {
			pn.ID = newSavedID()
		}
		if pn.W == 0 {
			pn.W = 6
		}
		switch {
		case pn.Query == "":
			probs = append(probs, fmt.Sprintf("panel %d: query: required", i+1))
		case len(pn.Query) > maxSavedQuery:
			probs = append(probs, fmt.Sprintf("panel %d: query: at most %d bytes", i+1, maxSavedQuery))
		}
		if !slices.Contains(panelKinds, pn.Kind) {
			probs = append(probs, fmt.Sprintf("panel %d: kind %q: want one of %s", i+1, pn.Kind, strings.Join(panelKinds, ", ")))
		}
		if !slices.Contains(panelWidths, pn.W) {
			probs = append(probs, fmt.Sprintf("panel %d: width %d: want 3, 4, 6, 8 or 12 (of 12 columns)", i+1, pn.W))
		}
	}
	return probs
}

func newSavedID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

func displayName(p auth.Principal) string {
	if p.Kind == "user" {
		return p.ID
	}
	if p.Name != "" {
		return p.Name
	}
	return ownerOf(p)
}

// savedRoutes are the CRUD endpoints of saved searches and dashboards.
// Every route needs the search capability; ownership is checked inside.
func (h *Handler) savedRoutes() []route {
	var out []route
	for _, s := range []*savedStore{h.ui.searches, h.ui.dashboards} {
		out = append(out,
			route{"GET " + s.kind.path, auth.CapSearch, h.savedHandler(s, h.savedList)},
			route{"POST " + s.kind.path, auth.CapSearch, h.savedHandler(s, h.savedCreate)},
			route{"GET " + s.kind.path + "/{id}", auth.CapSearch, h.savedHandler(s, h.savedGet)},
			route{"PUT " + s.kind.path + "/{id}", auth.CapSearch, h.savedHandler(s, h.savedUpdate)},
			route{"DELETE " + s.kind.path + "/{id}", auth.CapSearch, h.savedHandler(s, h.savedDelete)},
		)
	}
	return out
}

var errSavedOff = fmt.Errorf("%w: this server keeps no saved searches or dashboards (no UI state directory)", errNotFound)

// savedActions names the audit action of each changing method.
var savedActions = map[string]string{http.MethodPost: "create", http.MethodPut: "update", http.MethodDelete: "delete", http.MethodGet: "read"}

// savedFunc serves one saved-object call: it returns the status and
// answer, or an error for writeError.
type savedFunc func(r *http.Request, w http.ResponseWriter, s *savedStore, p auth.Principal) (int, any, error)

// savedHandler adds what every saved-object call shares: the feature
// check, the caller, error answers and the audit of refused changes.
func (h *Handler) savedHandler(s *savedStore, fn savedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.dir == "" {
			h.writeError(w, r, errSavedOff, nil)
			return
		}
		p, _ := PrincipalFrom(r.Context())
		status, ans, err := fn(r, w, s, p)
		if err != nil {
			if errors.Is(err, auth.ErrForbidden) {
				h.auditf(r, p, s.kind.audit+"_"+savedActions[r.Method], r.PathValue("id"), "denied", nil)
			}
			h.writeError(w, r, err, nil)
			return
		}
		writeJSON(w, status, ans)
	}
}

func (h *Handler) savedList(r *http.Request, _ http.ResponseWriter, s *savedStore, p auth.Principal) (int, any, error) {
	items, err := s.list(p, r.URL.Query().Get("all") == "1")
	return http.StatusOK, map[string]any{s.kind.listKey: items, "me": ownerOf(p)}, err
}

func (h *Handler) savedGet(r *http.Request, _ http.ResponseWriter, s *savedStore, p auth.Principal) (int, any, error) {
	it, err := s.get(p, r.PathValue("id"))
	return http.StatusOK, it, err
}

func decodeSaved(w http.ResponseWriter, r *http.Request, s *savedStore) (Saved, error) {
	var in Saved
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSavedBodySize))
	if err := dec.Decode(&in); err != nil {
		return in, invalidf("%s: %v", s.kind.name, err)
	}
	return in, nil
}

func (h *Handler) savedCreate(r *http.Request, w http.ResponseWriter, s *savedStore, p auth.Principal) (int, any, error) {
	in, err := decodeSaved(w, r, s)
	if err == nil {
		in, err = s.create(p, in)
	}
	if err != nil {
		return 0, nil, err
	}
	h.auditf(r, p, s.kind.audit+"_create", in.ID, "success", savedDetails(in))
	return http.StatusCreated, in, nil
}

func (h *Handler) savedUpdate(r *http.Request, w http.ResponseWriter, s *savedStore, p auth.Principal) (int, any, error) {
	in, err := decodeSaved(w, r, s)
	if err == nil {
		in, err = s.update(p, r.PathValue("id"), in)
	}
	if err != nil {
		return 0, nil, err
	}
	h.auditf(r, p, s.kind.audit+"_update", in.ID, "success", savedDetails(in))
	return http.StatusOK, in, nil
}

func (h *Handler) savedDelete(r *http.Request, _ http.ResponseWriter, s *savedStore, p auth.Principal) (int, any, error) {
	old, err := s.remove(p, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	h.auditf(r, p, s.kind.audit+"_delete", old.ID, "success", savedDetails(old))
	return http.StatusOK, map[string]string{"deleted": old.ID}, nil
}

func savedDetails(it Saved) map[string]string {
	d := map[string]string{"name": it.Name, "owner": it.Owner, "shared": strconv.FormatBool(it.Shared)}
	if it.Query != "" {
		d["query"] = printable(it.Query)
	}
	if len(it.Panels) > 0 {
		d["panels"] = strconv.Itoa(len(it.Panels))
	}
	return d
}
