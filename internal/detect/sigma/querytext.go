package sigma

import (
	"sort"
	"strings"

	"github.com/mamori/mamori/internal/token"
)

// QueryPrefilter returns a search expression of the query language that
// every event a rule of the engine matches satisfies, for retro-hunts: the
// store prunes blocks with its terms (whole tokens, see internal/token),
// then the engine evaluates the rule exactly on what is left. It is built
// from the literals the rules' conditions require: an OR of the
// alternatives, an AND of the parts that must all hold, each literal
// reduced to the tokens that stay whole in any value containing it. Where
// nothing is certain (negations, numeric and CIDR tests, non-ASCII case
// folding, very long alternatives) that branch is "*", so the expression
// never excludes a match; "*" alone scans the whole range.
func (e *Engine) QueryPrefilter() string {
	var alts []qnode
	for _, r := range e.rules {
		for _, ar := range r.alts {
			alts = append(alts, e.qnodeOf(ar.cond))
		}
	}
	return qor(alts).String()
}

// qnode is a search expression: a phrase (term != ""), an AND or an OR of
// kids, or every event (all).
type qnode struct {
	term string
	and  bool
	kids []qnode
	all  bool
}

var qall = qnode{all: true}

const (
	maxQueryOr        = 256 // alternatives of one OR before it becomes "*"
	maxTokensPerValue = 2   // tokens kept per literal (the longest)
	minQueryToken     = 3   // shorter tokens prune little
)

// String renders the expression in the query language.
func (q qnode) String() string {
	switch {
	case q.all:
		return "*"
	case q.term != "":
		return `"` + q.term + `"`
	}
	sep := " OR "
	if q.and {
		sep = " AND "
	}
	parts := make([]string, len(q.kids))
	for i, k := range q.kids {
		parts[i] = k.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// qand is the AND of xs: parts that are "*" drop out.
func qand(xs []qnode) qnode {
	var kids []qnode
	seen := map[string]bool{}
	for _, x := range xs {
		if x.all {
			continue
		}
		if x.and {
			kids = append(kids, x.kids...)
			continue
		}
		if s := x.String(); !seen[s] {
			seen[s] = true
			kids = append(kids, x)
		}
	}
	switch len(kids) {
	case 0:
		return qall
	case 1:
		return kids[0]
	}
	return qnode{and: true, kids: kids}
}

// qor is the OR of xs: one part that is "*" makes it all.
func qor(xs []qnode) qnode {
	var kids []qnode
	seen := map[string]bool{}
	for _, x := range xs {
		if x.all {
			return qall
		}
		subs := []qnode{x}
		if !x.and && x.term == "" {
			subs = x.kids
		}
		for _, k := range subs {
			if s := k.String(); !seen[s] {
				seen[s] = true
				kids = append(kids, k)
			}
		}
	}
	switch {
	case len(kids) == 0 || len(kids) > maxQueryOr:
		return qall // nothing can match (constant false) or too wide to help
	case len(kids) == 1:
		return kids[0]
	}
	return qnode{kids: kids}
}

func (e *Engine) qnodeOf(n node) qnode {
	switch n := n.(type) {
	case andNode:
		xs := make([]qnode, len(n))
		for i, x := range n {
			xs[i] = e.qnodeOf(x)
		}
		return qand(xs)
	case orNode:
		xs := make([]qnode, len(n))
		for i, x := range n {
			xs[i] = e.qnodeOf(x)
		}
		return qor(xs)
	case ofNode:
		xs := make([]qnode, len(n.xs))
		for i, x := range n.xs {
			xs[i] = e.qnodeOf(x)
		}
		if n.n == 0 {
			return qand(xs)
		}
		return qor(xs) // at least one of them holds
	case *leafNode:
		if n.neg || n.slot == e.metaSlots[0] || n.slot == e.metaSlots[1] {
			return qall // metadata is not searched by bare terms
		}
		return leafQuery(n.groups, e.lits)
	case *keywordNode:
		if n.neg {
			return qall
		}
		return leafQuery(n.groups, e.lits)
	}
	return qall // not, constants
}

// leafQuery is the AND of a leaf's groups, each the OR of its matchers.
func leafQuery(groups [][]matcher, lits string) qnode {
	ands := make([]qnode, 0, len(groups))
	for _, g := range groups {
		ors := make([]qnode, 0, len(g))
		for i := range g {
			ors = append(ors, matcherQuery(&g[i], lits))
		}
		ands = append(ands, qor(ors))
	}
	return qand(ands)
}

// matcherQuery is the AND of the tokens every value the matcher accepts
// contains as whole tokens (lits is Engine.lits).
func matcherQuery(m *matcher, lits string) qnode {
	var pats []string
	s := m.lit(lits)
	switch m.op {
	case opEq:
		pats = []string{s}
	case opPrefix:
		pats = []string{s + "*"}
	case opSuffix:
		pats = []string{"*" + s}
	case opContains:
		pats = []string{"*" + s + "*"}
	case opGlob:
		pats = []string{strings.ReplaceAll(strings.Join(m.x.glob, "*"), "\x00", "?")}
	case opRegex:
		for _, l := range m.x.glob { // every literal the expression requires
			pats = append(pats, "*"+l+"*")
		}
	}
	var toks []string
	for _, p := range pats {
		// PruneTokens treats a literal * or ? as a wildcard too: that only
		// drops tokens, which stays safe.
		for _, t := range token.PruneTokens(p) {
			if queryToken(t) {
				toks = append(toks, t)
			}
		}
	}
	if len(toks) == 0 {
		return qall
	}
	sort.SliceStable(toks, func(i, j int) bool { return len(toks[i]) > len(toks[j]) })
	if len(toks) > maxTokensPerValue {
		toks = toks[:maxTokensPerValue]
	}
	xs := make([]qnode, len(toks))
	for i, t := range toks {
		xs[i] = qnode{term: t}
	}
	return qand(xs)
}

// queryToken reports whether t can be a phrase of the prefilter: ASCII
// (Sigma folds Unicode case, tokens only ASCII) and long enough to prune.
func queryToken(t string) bool {
	if len(t) < minQueryToken {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= 0x80 || !(token.IsWordByte(c) || c == '.') {
			return false
		}
	}
	return true
}
