package logreduce

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ChangeKind classifies a signature in a comparison of two periods.
type ChangeKind string

// The kinds of change, from most to least surprising in general.
const (
	KindNew       ChangeKind = "new"       // only in the target period
	KindGone      ChangeKind = "gone"      // only in the baseline period
	KindChanged   ChangeKind = "changed"   // in both, with a significant change of share
	KindUnchanged ChangeKind = "unchanged" // in both, share about the same
)

// Change is one signature compared between a baseline and a target period.
type Change struct {
	Kind     ChangeKind `json:"kind"`
	ID       string     `json:"id"`
	Template string     `json:"template"`
	Display  string     `json:"display"`
	// BaselineID is the id in the baseline when the template was matched
	// approximately (it drifted between the periods); else empty.
	BaselineID    string  `json:"baseline_id,omitempty"`
	BaselineCount int64   `json:"baseline_count"`
	TargetCount   int64   `json:"target_count"`
	BaselineShare float64 `json:"baseline_share"`
	TargetShare   float64 `json:"target_share"`
	// DeltaPct is the relative change of share in percent: +100 for a new
	// signature, -100 for a gone one.
	DeltaPct float64 `json:"delta_pct"`
	// Score ranks surprise: how many standard deviations the target count
	// is from the count the baseline share predicts (Poisson, smoothed).
	Score    float64  `json:"score"`
	Examples []string `json:"examples,omitempty"`
	Query    string   `json:"query"`
}

// CompareOptions configure Compare. The zero value gives the defaults.
type CompareOptions struct {
	// MinDeltaPct is the smallest relative change of share, in percent,
	// that makes a signature "changed". Default 50.
	MinDeltaPct float64
	// MinScore is the smallest score that makes a signature "changed".
	// Default 3.
	MinScore float64
	// Similarity is the share of equal words above which a target
	// template that has no exact match is matched to a baseline template
	// of the same length (a drifted template). Default 0.8; 1 disables.
	Similarity float64
}

// Validate reports every problem with the options.
func (o CompareOptions) Validate() error {
	var errs []error
	if o.MinDeltaPct < 0 {
		errs = append(errs, fmt.Errorf("min delta %v%%: want >= 0", o.MinDeltaPct))
	}
	if o.MinScore < 0 {
		errs = append(errs, fmt.Errorf("min score %v: want >= 0", o.MinScore))
	}
	if o.Similarity < 0 || o.Similarity > 1 {
		errs = append(errs, fmt.Errorf("similarity %v: want 0..1", o.Similarity))
	}
	return errors.Join(errs...)
}

func (o CompareOptions) withDefaults() CompareOptions {
	if o.MinDeltaPct == 0 {
		o.MinDeltaPct = 50
	}
	if o.MinScore == 0 {
		o.MinScore = 3
	}
	if o.Similarity == 0 {
		o.Similarity = 0.8
	}
	return o
}

// Compare matches the signatures of a target period against those of a
// baseline period and classifies each as new, gone, changed or unchanged.
// Signatures match by id, else (templates that drifted) by template
// similarity. The result is ranked by kind (new, gone, changed, unchanged)
// and then by score, most surprising first.
func Compare(baseline, target []Signature, opts CompareOptions) []Change {
	opts = opts.withDefaults()
	nb, nt := totalCount(baseline), totalCount(target)
	byID := make(map[string]int, len(baseline))
	for i, s := range baseline {
		byID[s.ID] = i
	}
	used := make([]bool, len(baseline))
	match := make([]int, len(target))
	for i, s := range target {
		match[i] = -1
		if j, ok := byID[s.ID]; ok {
			match[i] = j
			used[j] = true
		}
	}
	if opts.Similarity < 1 {
		matchDrifted(baseline, target, match, used, opts.Similarity)
	}
	var out []Change
	for i, s := range target {
		c := Change{ID: s.ID, Template: s.Template, Display: s.Display, TargetCount: s.Count, Examples: s.Examples, Query: s.Query}
		if j := match[i]; j >= 0 {
			c.BaselineCount = baseline[j].Count
			if baseline[j].ID != s.ID {
				c.BaselineID = baseline[j].ID
			}
		}
		out = append(out, c)
	}
	for j, s := range baseline {
		if !used[j] {
			out = append(out, Change{ID: s.ID, Template: s.Template, Display: s.Display, BaselineCount: s.Count, Examples: s.Examples, Query: s.Query})
		}
	}
	for i := range out {
		classify(&out[i], nb, nt, opts)
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		if c := cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)); c != 0 {
			return c
		}
		return cmp.Compare(b.Score, a.Score)
	})
	return out
}

func totalCount(s []Signature) int64 {
	var n int64
	for _, x := range s {
		n += x.Count
	}
	return n
}

func kindOrder(k ChangeKind) int {
	switch k {
	case KindNew:
		return 0
	case KindGone:
		return 1
	case KindChanged:
		return 2
	}
	return 3
}

// classify fills in the shares, delta, score and kind of c.
func classify(c *Change, nb, nt int64, opts CompareOptions) {
	if nb > 0 {
		c.BaselineShare = float64(c.BaselineCount) / float64(nb)
	}
	if nt > 0 {
		c.TargetShare = float64(c.TargetCount) / float64(nt)
	}
	// Expected target count from the baseline share, smoothed so that a
	// signature never seen before still has a small expectation.
	pb := (float64(c.BaselineCount) + 0.5) / (float64(nb) + 1)
	exp := pb * float64(nt)
	if nt == 0 {
		// Nothing in the target: score by how much was expected in a
		// period as large as the baseline.
		exp = float64(c.BaselineCount)
	}
	c.Score = math.Abs(float64(c.TargetCount)-exp) / math.Sqrt(math.Max(exp, 1e-9))
	switch {
	case c.BaselineCount == 0:
		c.Kind, c.DeltaPct = KindNew, 100
	case c.TargetCount == 0:
		c.Kind, c.DeltaPct = KindGone, -100
	default:
		c.DeltaPct = 100 * (c.TargetShare - c.BaselineShare) / c.BaselineShare
		c.Kind = KindUnchanged
		if math.Abs(c.DeltaPct) >= opts.MinDeltaPct && c.Score >= opts.MinScore {
			c.Kind = KindChanged
		}
	}
}

// matchDrifted pairs target signatures without an exact match with unused
// baseline signatures whose templates have the same length and at least
// the given share of equal words.
func matchDrifted(baseline, target []Signature, match []int, used []bool, minSim float64) {
	bw := make([][]string, len(baseline))
	for j, s := range baseline {
		if !used[j] {
			bw[j] = splitWords(nil, s.Template)
		}
	}
	for i, s := range target {
		if match[i] >= 0 {
			continue
		}
		tw := splitWords(nil, s.Template)
		best, bestSim := -1, minSim
		for j := range baseline {
			if used[j] || len(bw[j]) != len(tw) || len(tw) == 0 {
				continue
			}
			eq := 0
			for k := range tw {
				if tw[k] == bw[j][k] {
					eq++
				}
			}
			if sim := float64(eq) / float64(len(tw)); sim >= bestSim {
				best, bestSim = j, sim
			}
		}
		if best >= 0 {
			match[i] = best
			used[best] = true
		}
	}
}

// Compare compares the messages given to AddBaseline with those given to
// Add. Both periods were clustered together, so templates match exactly.
func (r *Reducer) Compare(opts CompareOptions) []Change {
	var baseline, target []Signature
	for _, s := range r.Signatures() {
		if s.BaselineCount > 0 {
			b := s
			b.Count = s.BaselineCount
			baseline = append(baseline, b)
		}
		if s.Count > 0 {
			target = append(target, s)
		}
	}
	opts.Similarity = 1 // ids are exact here
	return Compare(baseline, target, opts)
}
