package logreduce

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Signature is one group of messages: a template, how many messages it
// covers and examples.
type Signature struct {
	// ID is stable: the same template gets the same id in every run.
	ID string `json:"id"`
	// Template is the canonical template with every variable written <*>.
	Template string `json:"template"`
	// Display is Template with variables typed where obvious: <IP>, <NUM>,
	// <HEX>, <UUID>, <PATH>, <TIME>; <*> otherwise.
	Display string `json:"display"`
	// Count is the number of messages; Share is Count over all messages.
	Count int64   `json:"count"`
	Share float64 `json:"share"`
	// BaselineCount is the number of baseline messages (AddBaseline).
	BaselineCount int64 `json:"baseline_count,omitempty"`
	// Rank is the user's promotion (> 0) or demotion (< 0).
	Rank     int      `json:"rank,omitempty"`
	Examples []string `json:"examples,omitempty"`
	// Query is a search expression that finds the signature's messages
	// (a superset: the constant text of the template).
	Query string `json:"query"`
}

// SignatureID returns the stable id of a template.
func SignatureID(template string) string {
	h := sha256.Sum256([]byte(template))
	return hex.EncodeToString(h[:8])
}

// Template returns the current canonical template of a cluster id returned
// by Add. The template can still widen while messages are added.
func (r *Reducer) Template(cluster int) string {
	if cluster < 0 || cluster >= len(r.clusters) {
		return ""
	}
	r.compact()
	c := r.clusters[r.root(int32(cluster))]
	if c.user > 0 {
		// A user's template is kept as written: canonical rewriting could
		// make it equal to the generic template it was split from.
		return r.opts.Corrections.Templates[c.user-1].Template
	}
	t := strings.Join(c.words, " ")
	if !c.exact {
		// Key sets and value groups are exact and stay as written:
		// masking would merge x_1 with x_2, or 10.0.0.1 with 10.0.0.2.
		t = Canonical(t)
	}
	if m, ok := r.opts.Corrections.mergedInto(t); ok {
		return m
	}
	return t
}

// Signatures returns the signatures of all messages added so far, the most
// frequent first (promoted ones before, demoted ones after). Clusters whose
// templates are equal once canonical are one signature.
func (r *Reducer) Signatures() []Signature {
	r.compact()
	byTemplate := map[string]int{}
	var out []Signature
	for ci, c := range r.clusters {
		if c.count == 0 {
			continue
		}
		t := r.Template(ci)
		i, ok := byTemplate[t]
		if !ok {
			i = len(out)
			byTemplate[t] = i
			out = append(out, Signature{ID: SignatureID(t), Template: t})
		}
		s := &out[i]
		s.Count += c.count - c.base
		s.BaselineCount += c.base
		for _, e := range c.examples {
			if len(s.Examples) < r.opts.MaxExamples {
				s.Examples = append(s.Examples, e)
			}
		}
	}
	for i := range out {
		s := &out[i]
		if n := r.Total(); n > 0 {
			s.Share = float64(s.Count) / float64(n)
		}
		s.Rank = r.opts.Corrections.rank(s.ID)
		s.Display = s.Template
		if len(s.Examples) > 0 {
			s.Display = Display(s.Template, s.Examples[0])
		}
		s.Query = Query(s.Template)
	}
	sortSignatures(out)
	return out
}

func sortSignatures(s []Signature) {
	slices.SortFunc(s, func(a, b Signature) int {
		if c := cmp.Compare(sign(b.Rank), sign(a.Rank)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Template, b.Template)
	})
}

func sign(n int) int { return cmp.Compare(n, 0) }

// Merge adds the clusters of o (for example another worker's shard) to r;
// o must not be used afterwards.
func (r *Reducer) Merge(o *Reducer) {
	for _, c := range o.clusters {
		if c.count == 0 {
			continue
		}
		ex := ""
		if len(c.examples) > 0 {
			ex = c.examples[0]
		}
		var ci int
		switch {
		case c.user > 0:
			ci = r.addUser(c.user-1, ex)
		case c.exact:
			ci = int(r.addExact(strings.Join(c.words, " "), ex))
		default:
			ci = r.addMasked(c.words, ex)
		}
		// The add above counted one target message; count the rest.
		d := r.clusters[r.root(int32(ci))]
		d.count += c.count - 1
		d.base += c.base
		r.total += c.count
		r.base += c.base
		for _, e := range c.examples[min(1, len(c.examples)):] {
			if len(d.examples) < r.opts.MaxExamples {
				d.examples = append(d.examples, e)
			}
		}
	}
}

// Query returns a search expression for the messages of a template: its
// constant pieces as quoted phrases joined with AND, or * when the
// template is all variables.
func Query(template string) string {
	var parts []string
	for _, p := range strings.Split(template, Wildcard) {
		p = strings.TrimSpace(p)
		if strings.IndexFunc(p, isWordRune) < 0 {
			continue
		}
		parts = append(parts, `"`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p)+`"`)
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, " AND ")
}

func isWordRune(c rune) bool {
	return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
