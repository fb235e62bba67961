package logreduce

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Corrections are the user's edits to the machine's signatures. They are
// saved (Save) and loaded (LoadCorrections) so they apply to every later
// run. The zero value and nil mean no corrections.
type Corrections struct {
	// Templates are user templates (an edited template, or the parts of a
	// split): a message that matches one, <*> standing for any text, joins
	// it before clustering. The first match wins.
	Templates []UserTemplate `json:"templates,omitempty"`
	// Merges maps the id of a machine signature to the template it is
	// shown as. Several ids mapped to one template are merged.
	Merges map[string]string `json:"merges,omitempty"`
	// Ranks promote (> 0) or demote (< 0) signatures by id.
	Ranks map[string]int `json:"ranks,omitempty"`
}

// UserTemplate is one template written by a user.
type UserTemplate struct {
	Template string `json:"template"`
	Note     string `json:"note,omitempty"`
	pieces   []string
}

// Validate reports every problem with the corrections.
func (c *Corrections) Validate() error {
	if c == nil {
		return nil
	}
	var errs []error
	for i, t := range c.Templates {
		if strings.TrimSpace(t.Template) == "" {
			errs = append(errs, fmt.Errorf("template %d: empty", i))
		} else if strings.Trim(Canonical(t.Template), Wildcard+" ") == "" {
			errs = append(errs, fmt.Errorf("template %d %q: no constant text", i, t.Template))
		}
	}
	for id, t := range c.Merges {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("merge %s: empty template", id))
		}
	}
	return errors.Join(errs...)
}

// LoadCorrections reads corrections saved by Save.
func LoadCorrections(r io.Reader) (*Corrections, error) {
	var c Corrections
	if err := json.NewDecoder(r).Decode(&c); err != nil {
		return nil, fmt.Errorf("load corrections: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("load corrections: %w", err)
	}
	return &c, nil
}

// Save writes the corrections as JSON.
func (c *Corrections) Save(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("save corrections: %w", err)
	}
	return nil
}

// Promote ranks a signature first (delta > 0) or last (delta < 0).
func (c *Corrections) Promote(id string, delta int) {
	if c.Ranks == nil {
		c.Ranks = map[string]int{}
	}
	c.Ranks[id] += delta
	if c.Ranks[id] == 0 {
		delete(c.Ranks, id)
	}
}

// Edit makes the signatures with the given ids show as template; with more
// than one id it merges them.
func (c *Corrections) Edit(template string, ids ...string) {
	if c.Merges == nil {
		c.Merges = map[string]string{}
	}
	for _, id := range ids {
		c.Merges[id] = Canonical(template)
	}
}

// Split adds user templates; messages matching them form their own
// signatures from the next run (or the next Reducer) on.
func (c *Corrections) Split(templates ...string) {
	for _, t := range templates {
		c.Templates = append(c.Templates, UserTemplate{Template: t})
	}
}

// match returns the index of the first user template that matches msg, or
// -1.
func (c *Corrections) match(msg string) int {
	if c == nil || len(c.Templates) == 0 {
		return -1
	}
	norm := ""
	for i := range c.Templates {
		t := &c.Templates[i]
		if t.pieces == nil {
			t.pieces = strings.Split(strings.Join(splitWords(nil, t.Template), " "), Wildcard)
		}
		if norm == "" {
			norm = strings.Join(splitWords(nil, msg), " ")
		}
		if globMatch(t.pieces, norm) {
			return i
		}
	}
	return -1
}

// globMatch reports whether s is pieces[0] <any> pieces[1] ... <any>
// pieces[n-1], where <any> is any non-empty text.
func globMatch(pieces []string, s string) bool {
	if !strings.HasPrefix(s, pieces[0]) {
		return false
	}
	s = s[len(pieces[0]):]
	if len(pieces) == 1 {
		return s == ""
	}
	last := pieces[len(pieces)-1]
	for _, p := range pieces[1 : len(pieces)-1] {
		if len(s) == 0 {
			return false
		}
		j := strings.Index(s[1:], p)
		if j < 0 {
			return false
		}
		s = s[1+j+len(p):]
	}
	return len(s) > len(last) && strings.HasSuffix(s, last)
}

func (c *Corrections) mergedInto(template string) (string, bool) {
	if c == nil || len(c.Merges) == 0 {
		return "", false
	}
	t, ok := c.Merges[SignatureID(template)]
	return t, ok
}

func (c *Corrections) rank(id string) int {
	if c == nil {
		return 0
	}
	return c.Ranks[id]
}
