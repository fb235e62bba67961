package api

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/atomicfile"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/mamori/mamori/internal/logreduce"
)

// corrections keeps the users' logreduce corrections (promote, demote,
// split, merge, edit) in DIR/corrections.json and hands them to every
// query, so a correction is applied the next time.
type corrections struct {
	dir string

	mu  sync.RWMutex // guards cur and absent
	cur *logreduce.Corrections
	// absent is set once the file was found missing: only a PUT, which
	// sets cur, writes it, so searches do not look for it again.
	absent bool
}

func (c *corrections) path() string { return filepath.Join(c.dir, "corrections.json") }

// get returns the current corrections (nil when there are none).
func (c *corrections) get() *logreduce.Corrections {
	if c == nil || c.dir == "" {
		return nil
	}
	c.mu.RLock()
	cur, absent := c.cur, c.absent
	c.mu.RUnlock()
	if cur != nil || absent {
		return cur
	}
	b, err := os.ReadFile(c.path())
	if errors.Is(err, fs.ErrNotExist) {
		c.mu.Lock()
		c.absent = c.cur == nil
		cur = c.cur
		c.mu.Unlock()
		return cur
	}
	if err != nil {
		return nil
	}
	cur, err = logreduce.LoadCorrections(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	c.cur = cur
	c.mu.Unlock()
	return cur
}

func (h *Handler) getCorrections(w http.ResponseWriter, r *http.Request) {
	cur := h.corrections.get()
	w.Header().Set("Content-Type", "application/json")
	if cur == nil {
		_, _ = w.Write([]byte("{}\n")) // the client may be gone
		return
	}
	if err := cur.Save(w); err != nil {
		h.log.Warn("write corrections", "err", err)
	}
}

// putCorrections replaces the corrections with the JSON document sent
// (the format of `mamori logreduce --corrections FILE`).
func (h *Handler) putCorrections(w http.ResponseWriter, r *http.Request) {
	if h.corrections.dir == "" {
		h.writeError(w, r, fmt.Errorf("%w: corrections are not kept on this node", errNotFound), nil)
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		h.writeError(w, r, invalidf("corrections: %v", err), nil)
		return
	}
	cur, err := logreduce.LoadCorrections(bytes.NewReader(b))
	if err == nil {
		err = cur.Validate()
	}
	if err != nil {
		h.writeError(w, r, invalidf("corrections: %v", err), nil)
		return
	}
	if err := os.MkdirAll(h.corrections.dir, 0o700); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	if err := atomicfile.Write(h.corrections.path(), b, 0o600); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	h.corrections.mu.Lock()
	h.corrections.cur = cur
	h.corrections.mu.Unlock()
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "logreduce_corrections_put", "", "success", nil)
	writeJSON(w, http.StatusOK, map[string]bool{"saved": true})
}
