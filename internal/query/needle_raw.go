package query

import (
	"slices"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// A needle's terms (a hash, an id) are mostly field values, which the
// raw text holds as references: a match there lies inside a value that
// the term matcher finds in its field column anyway. When a block's
// refs summary shows that no other match is possible
// (store.RawTermsChecker), the search leaves _raw out of the block's
// load: no skeleton head is decoded and no skeleton decided, and the
// rows it keeps get their _raw from the row-wise load, like any column
// the search did not read.

// rawTerms returns the texts of the search's terms when every matcher
// of m that reads _raw is a term without wildcards (decided on the
// templates), so that leaving _raw out changes no answer once each term
// is known to match _raw only inside values of the columns the term
// matcher reads; false otherwise.
func rawTerms(m matcher, out []string) ([]string, bool) {
	switch m := m.(type) {
	case *termMatcher:
		if m.wild != nil || m.tf == nil {
			return nil, false
		}
		if !slices.Contains(out, m.text) {
			out = append(out, m.text)
		}
		return out, true
	case *fieldMatcher:
		return out, m.slot != slotRaw
	case andMatcher:
		return rawTermsOf(m, out)
	case orMatcher:
		return rawTermsOf(m, out)
	case notMatcher:
		return rawTerms(m.m, out)
	case trueMatcher:
		return out, true
	}
	return nil, false
}

func rawTermsOf(ms []matcher, out []string) ([]string, bool) {
	for _, k := range ms {
		var ok bool
		if out, ok = rawTerms(k, out); !ok {
			return nil, false
		}
	}
	return out, true
}

// rawLeftOut reports whether the search may leave _raw out of block
// ref's load: its terms match the raw text only inside values of the
// columns names, which the term matcher reads (loaded, or pruned because
// they cannot hold a term).
func (w *worker) rawLeftOut(ref store.BlockRef, names []string) (bool, error) {
	rc, ok := ref.(store.RawTermsChecker)
	if !ok {
		return false, nil
	}
	terms := w.nip.rawCheck.terms(w.ex.p)
	if terms == nil {
		return false, nil
	}
	return rc.TermsOnlyInValues(terms, names)
}

// rawCheck is a worker's decision, made on its first block, of the terms
// rawLeftOut gives to TermsOnlyInValues: none (nil) when the check cannot
// succeed on any block, decided from the search's shape alone: no
// _raw templates, a matcher that reads _raw other than a plain term, or
// a term without a digit (store.TermMayStayInValues: a phrase of words
// may lie in the literal text).
type rawCheck struct {
	done bool
	list []string
}

// terms returns the terms to check for the search of plan p (nil: skip).
func (c *rawCheck) terms(p *plan) []string {
	if !c.done {
		c.done, c.list = true, rawCheckTerms(p)
	}
	return c.list
}

// rawCheckTerms decides rawCheck for plan p.
func rawCheckTerms(p *plan) []string {
	if !p.rawTemplates || !p.matchNeed.all || slices.Contains(p.matchNeed.names, event.FieldRaw) {
		return nil
	}
	terms, ok := rawTerms(p.m, nil)
	if !ok || len(terms) == 0 {
		return nil
	}
	for _, t := range terms {
		if !store.TermMayStayInValues(t) {
			return nil
		}
	}
	return terms
}
