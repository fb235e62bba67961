package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/atomicfile"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/mamori/mamori/internal/query"
)

// lookupStore keeps uploaded CSV tables for the lookup operator, one file
// per table in dir, cached in memory after the first use.
type lookupStore struct {
	dir string

	mu    sync.Mutex // guards cache
	cache map[string]*query.LookupTable
}

var lookupName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// maxLookupRows bounds a table so a join against it stays in memory.
const maxLookupRows = 1_000_000

func (l *lookupStore) path(name string) string { return filepath.Join(l.dir, name+".csv") }

// get implements query.Options.Lookup.
func (l *lookupStore) get(name string) (*query.LookupTable, error) {
	if l == nil || !lookupName.MatchString(name) {
		return nil, fmt.Errorf("%s: %w", name, query.ErrNoLookup)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.cache[name]; ok {
		return t, nil
	}
	f, err := os.Open(l.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name, query.ErrNoLookup)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := readLookup(f)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", name, err)
	}
	if l.cache == nil {
		l.cache = map[string]*query.LookupTable{}
	}
	l.cache[name] = t
	return t, nil
}

// readLookup parses a CSV table whose first row names the columns.
func readLookup(r io.Reader) (*query.LookupTable, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
		if header[i] == "" {
			return nil, fmt.Errorf("column %d has no name", i+1)
		}
	}
	t := &query.LookupTable{Columns: header}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		if len(t.Rows) >= maxLookupRows {
			return nil, fmt.Errorf("more than %d rows", maxLookupRows)
		}
		t.Rows = append(t.Rows, rec)
	}
}

func (h *Handler) putLookup(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !lookupName.MatchString(name) {
		h.writeError(w, r, invalidf("table name %q: 1-64 letters, digits, '.', '_' or '-'", name), nil)
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		h.writeError(w, r, invalidf("table body: %v", err), nil)
		return
	}
	t, err := readLookup(strings.NewReader(string(b)))
	if err != nil {
		h.writeError(w, r, invalidf("table %s: %v", name, err), nil)
		return
	}
	if err := os.MkdirAll(h.lookups.dir, 0o700); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	if err := atomicfile.Write(h.lookups.path(name), b, 0o600); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	h.lookups.mu.Lock()
	delete(h.lookups.cache, name)
	h.lookups.mu.Unlock()
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "lookup_put", name, "success", map[string]string{"rows": fmt.Sprint(len(t.Rows))})
	writeJSON(w, http.StatusCreated, map[string]any{"name": name, "columns": t.Columns, "rows": len(t.Rows)})
}

func (h *Handler) listLookups(w http.ResponseWriter, r *http.Request) {
	ents, _ := os.ReadDir(h.lookups.dir) // a missing folder means no tables
	out := []map[string]any{}
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".csv"); ok {
			if t, err := h.lookups.get(name); err == nil {
				out = append(out, map[string]any{"name": name, "columns": t.Columns, "rows": len(t.Rows)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	writeJSON(w, http.StatusOK, map[string]any{"lookups": out})
}

func (h *Handler) deleteLookup(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !lookupName.MatchString(name) {
		h.writeError(w, r, fmt.Errorf("table %s: %w", name, errNotFound), nil)
		return
	}
	if err := os.Remove(h.lookups.path(name)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("table %s: %w", name, errNotFound)
		}
		h.writeError(w, r, err, nil)
		return
	}
	h.lookups.mu.Lock()
	delete(h.lookups.cache, name)
	h.lookups.mu.Unlock()
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "lookup_delete", name, "success", nil)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": name})
}
