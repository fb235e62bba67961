package logreduce

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// Options configure a Reducer. The zero value gives the defaults.
type Options struct {
	// Similarity is the share of a message's words (0..1] that must equal a
	// cluster's template words for the message to join it. Default 0.5.
	Similarity float64
	// MaxClusters bounds memory: once reached, a message that fits no
	// cluster joins the overflow cluster of its word count. Default 20000.
	MaxClusters int
	// MaxExamples is how many example messages each signature keeps.
	// Default 3.
	MaxExamples int
	// Corrections are user edits applied before clustering (may be nil).
	Corrections *Corrections
	// Logger receives debug messages; nil discards.
	Logger *slog.Logger
}

// Validate reports every problem with the options.
func (o Options) Validate() error {
	var errs []error
	if o.Similarity < 0 || o.Similarity > 1 {
		errs = append(errs, fmt.Errorf("similarity %v: want 0..1", o.Similarity))
	}
	if o.MaxClusters < 0 {
		errs = append(errs, fmt.Errorf("max clusters %d: want >= 0", o.MaxClusters))
	}
	if o.MaxExamples < 0 {
		errs = append(errs, fmt.Errorf("max examples %d: want >= 0", o.MaxExamples))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Similarity == 0 {
		o.Similarity = 0.5
	}
	if o.MaxClusters == 0 {
		o.MaxClusters = 20000
	}
	if o.MaxExamples == 0 {
		o.MaxExamples = 3
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// cluster is a group of messages with the same word count and a common
// template.
type cluster struct {
	words    []string // template words; variables are Wildcard
	wild     []bool   // words[i] contains a Wildcard
	count    int64    // messages of both periods
	base     int64    // messages of the baseline period (AddBaseline)
	examples []string
	user     int   // index+1 of the user template that defined it, or 0
	parent   int32 // index+1 of the cluster this one was merged into, or 0
	exact    bool  // never merged with others (key sets)
}

// Reducer groups messages into signatures. Memory grows with the number of
// clusters (bounded by Options.MaxClusters), not with the number of messages.
// A Reducer is not safe for concurrent use.
type Reducer struct {
	opts     Options
	clusters []*cluster
	leaves   map[string][]int32 // leaf key -> cluster indexes
	seen     map[string]int32   // masked message -> cluster (bounded cache)
	overflow map[int]int32      // word count -> overflow cluster
	total    int64              // messages of both periods
	base     int64              // messages of the baseline period
	inBase   bool               // the message being added is a baseline one
	dirty    bool               // clusters changed since the last compact

	// scratch, reused across Add calls
	raw    []string
	buf    []byte
	ends   []int
	masked []string
	key    []byte
	lkey   []byte
	mbuf   []byte
	near   []nearCluster
	group  []int32
	keys   []string
}

// New returns a Reducer. Options are assumed valid (see Options.Validate).
func New(opts Options) *Reducer {
	return &Reducer{
		opts:     opts.withDefaults(),
		leaves:   map[string][]int32{},
		seen:     map[string]int32{},
		overflow: map[int]int32{},
	}
}

// Total returns the number of messages added with Add (the target period).
func (r *Reducer) Total() int64 { return r.total - r.base }

// AddBaseline is Add for a message of the baseline period of a comparison
// (`logcompare`): both periods are clustered together, so a signature has
// the same template in both, and Compare reports how each one changed.
// Signatures counts only the messages given to Add.
func (r *Reducer) AddBaseline(msg string) int {
	r.inBase = true
	r.base++
	ci := r.Add(msg)
	r.inBase = false
	return ci
}

func (r *Reducer) baseOne() int64 {
	if r.inBase {
		return 1
	}
	return 0
}

// AddBytes is Add for a message in a byte slice; msg is not kept.
func (r *Reducer) AddBytes(msg []byte) int {
	return r.Add(bytesView(msg))
}

// Add groups one message and returns the id of its cluster, valid for
// Template on this Reducer. Add keeps copies of what it needs, never msg
// itself.
func (r *Reducer) Add(msg string) int {
	r.total++
	r.raw = collapseDates(splitWords(r.raw[:0], msg))
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	for _, w := range r.raw {
		r.buf = appendMaskedWord(r.buf, w)
		r.ends = append(r.ends, len(r.buf))
		r.buf = append(r.buf, ' ')
	}
	// Views into buf; valid until the next Add. buf itself is the words
	// joined as by appendJoined: the key of the seen cache.
	r.masked = r.masked[:0]
	prev := 0
	for _, e := range r.ends {
		r.masked = append(r.masked, bytesView(r.buf[prev:e]))
		prev = e + 1
	}
	if u := r.opts.Corrections.match(msg); u >= 0 {
		return r.addUser(u, msg)
	}
	return r.addKeyed(r.masked, r.buf, msg)
}

func (r *Reducer) addMasked(words []string, msg string) int {
	r.key = appendJoined(r.key[:0], words)
	return r.addKeyed(words, r.key, msg)
}

// addKeyed is addMasked for words whose appendJoined form is key.
func (r *Reducer) addKeyed(words []string, key []byte, msg string) int {
	// Fast path: this exact masked message was seen recently.
	if ci, ok := r.seen[bytesView(key)]; ok {
		if c := r.clusters[ci]; c.parent == 0 {
			// Still its own root: its template covered these words when
			// they were cached, and templates only widen, so only the
			// counts change (update would return after a full compare).
			r.count(c, msg)
		} else {
			r.update(ci, words, msg)
		}
		return int(ci)
	}
	ci := r.place(words, msg)
	if len(r.seen) >= maxSeen {
		clear(r.seen)
	}
	r.seen[string(key)] = ci
	return int(ci)
}

// maxSeen bounds the cache of masked messages.
const maxSeen = 1 << 16

func appendJoined(dst []byte, words []string) []byte {
	for _, w := range words {
		dst = append(dst, w...)
		dst = append(dst, ' ')
	}
	return dst
}

// place finds the cluster of a masked message, or starts one.
func (r *Reducer) place(words []string, msg string) int32 {
	n := len(words)
	r.lkey = r.leafKey(r.lkey[:0], words)
	leaf := r.leaves[bytesView(r.lkey)]
	need := int(r.opts.Similarity*float64(n) + 0.999999)
	best, bestEq, bestWild := int32(-1), -1, -1
	r.near = r.near[:0]
	for _, ci := range leaf {
		eq, wild, hardAt := similarity(r.clusters[ci], words, max(need, bestEq))
		switch {
		case hardAt == noMatch:
			continue
		case hardAt >= 0:
			if eq >= need {
				r.near = append(r.near, nearCluster{ci, hardAt})
			}
			continue
		}
		if eq > bestEq || (eq == bestEq && wild > bestWild) {
			best, bestEq, bestWild = ci, eq, wild
		}
	}
	if best >= 0 && bestEq >= need {
		r.update(best, words, msg)
		return best
	}
	if ci, ok := r.mergeNear(words); ok {
		r.update(ci, words, msg)
		return ci
	}
	if len(r.clusters) >= r.opts.MaxClusters {
		return r.addOverflow(words, msg)
	}
	ci := r.newCluster(words, msg)
	k := string(r.lkey)
	r.leaves[k] = append(r.leaves[k], ci)
	return ci
}

// nearCluster is a cluster that differs from a message in one constant
// word only, at position at.
type nearCluster struct {
	ci int32
	at int
}

// mergeNear is the online form of compact: when at least minDistinct-1
// clusters of the leaf differ from the message only in the constant word
// at one position (not the first), that word is a variable. The clusters
// are merged, the word becomes a wildcard, and the merged cluster is
// returned.
func (r *Reducer) mergeNear(words []string) (int32, bool) {
	if len(r.near) < minDistinct-1 {
		return 0, false
	}
	for _, cand := range r.near {
		p := cand.at
		if p == 0 {
			continue
		}
		r.group = r.group[:0]
		for _, nc := range r.near {
			if nc.at == p {
				r.group = append(r.group, nc.ci)
			}
		}
		if len(r.group) < minDistinct-1 {
			continue
		}
		r.mergeClusters(r.group, p)
		dst := r.root(r.group[0])
		d := r.clusters[dst]
		d.words[p] = Wildcard
		d.wild[p] = true
		// A copy, not a view of r.lkey: assigning to a map entry stores the
		// key given, and lkey is reused by later Adds (a view made the
		// output differ from run to run on a few lines per million).
		r.dropDead(string(r.lkey))
		return dst, true
	}
	return 0, false
}

// dropDead removes merged clusters from a leaf.
func (r *Reducer) dropDead(key string) {
	leaf := r.leaves[key]
	live := leaf[:0]
	for _, ci := range leaf {
		if r.clusters[ci].parent == 0 {
			live = append(live, ci)
		}
	}
	r.leaves[key] = live
}

// leafKey appends the index key of a masked message to dst: its word count
// and its first two constant words (for key=value words, the key), with
// their positions. Messages that differ there are different events (see
// similarity), so they never need to be compared.
func (r *Reducer) leafKey(dst []byte, words []string) []byte {
	dst = strconv.AppendInt(dst, int64(len(words)), 10)
	k := 0
	for i, w := range words {
		if hasWildcard(w) {
			continue
		}
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, ':')
		dst = append(dst, keyPart(w)...)
		if k++; k == 1 {
			break
		}
	}
	return dst
}

// keyPart returns w up to its first '=' or ':' (the key of a key=value
// word), or all of w.
func keyPart(w string) string {
	for i := 0; i < len(w); i++ {
		if w[i] == '=' || w[i] == ':' {
			return w[:i+1]
		}
	}
	return w
}

// similarity returns how many words of the masked message equal (or are
// matched by) the cluster's template words, how many template words are
// variables, and the position of the one hard mismatch (two different
// constants, neither matching the other), -1 for none, or noMatch when the
// message cannot join (more mismatches, or too few equal words to beat
// need). A word that differs from a
// constant is more often a different event than a variable; the rare
// variables spelled as plain words are found later by cardinality (see
// compact).
func similarity(c *cluster, words []string, need int) (eq, wild, hardAt int) {
	if len(c.words) != len(words) {
		return 0, 0, noMatch
	}
	hardAt = -1
	for i, w := range words {
		if eq+len(words)-i-1 < need-1 {
			return 0, 0, noMatch // cannot reach the best any more
		}
		t := c.words[i]
		switch {
		case t == w:
			if c.wild[i] {
				wild++
			}
			eq++
		case t == Wildcard:
			wild++
		case w == Wildcard:
		case c.wild[i] && matchWord(t, w):
			wild++
			eq++
		case hasWildcard(w) && matchWord(w, t):
		case sameKeys(t, w) || (i > 0 && isKeyWord(words[i-1]) && words[i-1] == c.words[i-1] && isIdentValue(t) && isIdentValue(w)):
			wild++
			eq++
		default:
			if hardAt >= 0 {
				return 0, 0, noMatch // two hard mismatches
			}
			hardAt = i
		}
	}
	return eq, wild, hardAt
}

// noMatch is similarity's answer for a cluster the message cannot join.
const noMatch = -2

func (r *Reducer) newCluster(words []string, msg string) int32 {
	c := &cluster{words: make([]string, len(words)), wild: make([]bool, len(words)), count: 1, base: r.baseOne()}
	for i, w := range words {
		c.words[i] = strings.Clone(w)
		c.wild[i] = hasWildcard(w)
	}
	if r.opts.MaxExamples > 0 {
		c.examples = append(c.examples, strings.Clone(msg))
	}
	r.clusters = append(r.clusters, c)
	r.dirty = true
	return int32(len(r.clusters) - 1)
}

// count counts msg in the cluster c, keeping it as an example while c has
// fewer than MaxExamples.
func (r *Reducer) count(c *cluster, msg string) {
	c.count++
	c.base += r.baseOne()
	r.dirty = true
	if len(c.examples) < r.opts.MaxExamples {
		c.examples = append(c.examples, strings.Clone(msg))
	}
}

func (r *Reducer) update(ci int32, words []string, msg string) {
	c := r.clusters[r.root(ci)]
	r.count(c, msg)
	if len(c.words) != len(words) || c.exact {
		return // merged into a cluster of another length, or fixed
	}
	for i, w := range words {
		t := c.words[i]
		if t == w || t == Wildcard || (c.wild[i] && matchWord(t, w)) {
			continue // t already covers w: mergeWord would return t
		}
		r.mbuf = mergeWord(r.mbuf[:0], t, w)
		if bytesView(r.mbuf) != t {
			c.words[i] = string(r.mbuf)
			c.wild[i] = true
		}
	}
}

func (r *Reducer) addOverflow(words []string, msg string) int32 {
	n := len(words)
	ci, ok := r.overflow[n]
	if !ok {
		all := make([]string, n)
		for i := range all {
			all[i] = Wildcard
		}
		c := &cluster{words: all, wild: make([]bool, n)}
		for i := range c.wild {
			c.wild[i] = true
		}
		r.clusters = append(r.clusters, c)
		ci = int32(len(r.clusters) - 1)
		r.overflow[n] = ci
		r.opts.Logger.Debug("logreduce cluster limit reached", "words", n, "max_clusters", r.opts.MaxClusters)
	}
	r.update(ci, words, msg)
	return ci
}

func (r *Reducer) addUser(u int, msg string) int {
	key := "user " + strconv.Itoa(u)
	if l := r.leaves[key]; len(l) > 0 {
		c := r.clusters[l[0]]
		c.count++
		c.base += r.baseOne()
		if len(c.examples) < r.opts.MaxExamples {
			c.examples = append(c.examples, strings.Clone(msg))
		}
		return int(l[0])
	}
	ut := r.opts.Corrections.Templates[u]
	c := &cluster{words: splitWords(nil, ut.Template), count: 1, base: r.baseOne(), user: u + 1}
	c.wild = make([]bool, len(c.words))
	if r.opts.MaxExamples > 0 {
		c.examples = append(c.examples, strings.Clone(msg))
	}
	r.clusters = append(r.clusters, c)
	ci := int32(len(r.clusters) - 1)
	r.leaves[key] = []int32{ci}
	return int(ci)
}

func hasWildcard(w string) bool {
	for i := 0; i+3 <= len(w); i++ {
		if w[i] == '<' && w[i+1] == '*' && w[i+2] == '>' {
			return true
		}
	}
	return false
}

// matchWord reports whether the template word t (with wildcards) matches the
// masked word w, segment by segment.
func matchWord(t, w string) bool {
	for {
		ti, wi := nextPathDelim(t), nextPathDelim(w)
		ts, ws := t[:ti], w[:wi]
		if ts != ws && ts != Wildcard {
			return false
		}
		if ti == len(t) || wi == len(w) {
			return ti == len(t) && wi == len(w)
		}
		if t[ti] != w[wi] {
			return false
		}
		t, w = t[ti+1:], w[wi+1:]
	}
}

// sameKeys reports whether words t and w have the same delimiters and
// differ only in segments that come after an '=' or ':' (values of
// key=value pairs and JSON members, which are variables by nature).
func sameKeys(t, w string) bool {
	sawEq := false
	for {
		ti, wi := nextPathDelim(t), nextPathDelim(w)
		if t[:ti] != w[:wi] && !sawEq {
			return false
		}
		if ti == len(t) || wi == len(w) {
			return ti == len(t) && wi == len(w)
		}
		if t[ti] != w[wi] {
			return false
		}
		if t[ti] == '=' || t[ti] == ':' {
			sawEq = true
		}
		t, w = t[ti+1:], w[wi+1:]
	}
}

// isKeyWord reports whether w is a key whose value is the next word
// ("EventType:", "user=").
func isKeyWord(w string) bool {
	return len(w) > 1 && (w[len(w)-1] == ':' || w[len(w)-1] == '=')
}

// isIdentValue reports whether w looks like an identifier value (an enum
// constant, a name with digits or capitals) rather than a word of prose:
// no structure (path delimiters) and not all lower-case letters.
func isIdentValue(w string) bool {
	lower := true
	for i := 0; i < len(w); i++ {
		c := w[i]
		if charClass[c]&clPathDelim != 0 {
			return false
		}
		if c < 'a' || c > 'z' {
			lower = false
		}
	}
	return !lower
}

func nextPathDelim(s string) int {
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&clPathDelim != 0 {
			return i
		}
	}
	return len(s)
}

// mergeWord appends to dst the most specific word that matches both a and
// b: segments (parts between path delimiters) that differ become
// wildcards when both words have the same delimiters, else the whole word
// is a wildcard.
func mergeWord(dst []byte, a, b string) []byte {
	from := len(dst)
	for {
		ai, bi := nextPathDelim(a), nextPathDelim(b)
		if a[:ai] == b[:bi] {
			dst = append(dst, a[:ai]...)
		} else {
			dst = append(dst, Wildcard...)
		}
		if ai == len(a) || bi == len(b) {
			if ai == len(a) && bi == len(b) {
				return dst
			}
			return append(dst[:from], Wildcard...)
		}
		if a[ai] != b[bi] {
			return append(dst[:from], Wildcard...)
		}
		dst = append(dst, a[ai])
		a, b = a[ai+1:], b[bi+1:]
	}
}

// AddKeys groups an event by its set of field names (`logreduce keys`):
// events with the same names, in any order, share a signature whose
// template is the sorted names joined by ", ". The names are the example.
func (r *Reducer) AddKeys(names []string) int {
	return r.AddKeysExample(names, "")
}

// AddKeysExample is AddKeys keeping example (for instance the event's raw
// text) as the signature's example instead of the names; example is
// copied when kept, and "" means the names.
func (r *Reducer) AddKeysExample(names []string, example string) int {
	r.keys = append(r.keys[:0], names...)
	slices.Sort(r.keys)
	r.keys = slices.Compact(r.keys)
	r.key = r.key[:0]
	for i, n := range r.keys {
		if i > 0 {
			r.key = append(r.key, ", "...)
		}
		r.key = append(r.key, n...)
	}
	r.total++
	return int(r.addExact(bytesView(r.key), example))
}

// addExact counts msg in a cluster of its own that is never merged;
// example (msg when "") is kept as an example. msg is not kept.
func (r *Reducer) addExact(msg, example string) int32 {
	if example == "" {
		example = msg
	}
	r.lkey = append(append(r.lkey[:0], "keys "...), msg...)
	if l := r.leaves[bytesView(r.lkey)]; len(l) > 0 {
		r.update(l[0], nil, example)
		return l[0]
	}
	c := &cluster{words: splitWords(nil, strings.Clone(msg)), exact: true}
	c.wild = make([]bool, len(c.words))
	r.clusters = append(r.clusters, c)
	ci := int32(len(r.clusters) - 1)
	r.leaves[string(r.lkey)] = []int32{ci}
	r.update(ci, nil, example)
	return ci
}
