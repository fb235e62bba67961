package logreduce

import "strings"

// minDistinct is how many distinct constant words one position must take,
// in clusters that agree everywhere else, to be judged a variable. Two
// values (start/stop, In/Out) are usually two events; three or more
// (user names, host names) a parameter.
const minDistinct = 3

// root returns the cluster that ci was merged into, or ci.
func (r *Reducer) root(ci int32) int32 {
	for r.clusters[ci].parent != 0 {
		ci = r.clusters[ci].parent - 1
	}
	return ci
}

// compact merges clusters of equal length that differ only at one
// position, when that position takes at least minDistinct constant values
// or one of the clusters already has a variable there. It runs before
// results are read, so Add stays cheap.
func (r *Reducer) compact() {
	if !r.dirty {
		return
	}
	r.dirty = false
	for round := 0; round < 3; round++ {
		if !r.compactOnce() {
			break
		}
	}
	r.compactLengths()
}

func (r *Reducer) compactOnce() bool {
	byLen := map[int][]int32{}
	for ci, c := range r.clusters {
		if c.parent == 0 && c.user == 0 && !c.exact && c.count > 0 {
			byLen[len(c.words)] = append(byLen[len(c.words)], int32(ci))
		}
	}
	merged := false
	var key strings.Builder
	for n, cs := range byLen {
		if len(cs) < 2 {
			continue
		}
		// Position 0 is left alone: a leading word that differs is the
		// name of a different component or event (Drain's assumption too).
		for p := 1; p < n; p++ {
			buckets := map[string][]int32{}
			for _, ci := range cs {
				c := r.clusters[ci]
				if c.parent != 0 {
					continue
				}
				key.Reset()
				for i, w := range c.words {
					if i == p {
						w = "\\x00"
					}
					key.WriteString(w)
					key.WriteByte(' ')
				}
				k := key.String()
				buckets[k] = append(buckets[k], ci)
			}
			for _, b := range buckets {
				if len(b) < 2 {
					continue
				}
				if len(b) >= minDistinct || anyWild(r, b, p) {
					r.mergeClusters(b, p)
					merged = true
				}
			}
		}
	}
	return merged
}

// anyWild reports whether the word p of one cluster of b matches the word
// p of all the others: those clusters are the same template.
func anyWild(r *Reducer, b []int32, p int) bool {
	for _, a := range b {
		t := r.clusters[a].words[p]
		if !hasWildcard(t) {
			continue
		}
		all := true
		for _, c := range b {
			if !matchWord(t, r.clusters[c].words[p]) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// mergeClusters folds the clusters b into the first (largest) one,
// widening word p to cover them all.
func (r *Reducer) mergeClusters(b []int32, p int) {
	dst := b[0]
	for _, ci := range b[1:] {
		if r.clusters[ci].count > r.clusters[dst].count {
			dst = ci
		}
	}
	d := r.clusters[dst]
	for _, ci := range b {
		if ci == dst {
			continue
		}
		c := r.clusters[ci]
		r.mbuf = mergeWord(r.mbuf[:0], d.words[p], c.words[p])
		if string(r.mbuf) != d.words[p] {
			d.words[p] = string(r.mbuf)
			d.wild[p] = true
		}
		d.count += c.count
		d.base += c.base
		for _, e := range c.examples {
			if len(d.examples) < r.opts.MaxExamples {
				d.examples = append(d.examples, e)
			}
		}
		c.count, c.base = 0, 0
		c.examples = nil
		c.parent = dst + 1
	}
}
