package store

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TestRawRefsReport reports the refs summaries (needle_refs.go) of the
// skeleton blocks of a store, computed from their skeletons: how many
// are clean (no dirty skeleton), how many dirty skeletons and rows the
// others have. On blocks that store a summary it also runs
// TermsOnlyInValues for MAMORI_NEEDLE_TERMS (comma separated; default
// the needle_term hash) with every field column and times it.
// MAMORI_NEEDLE_TOKENS restricts the blocks to those a token filter
// keeps. Opt-in: a measuring tool, not a check.
func TestRawRefsReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to measure the refs summaries")
	}
	terms := strings.Split(os.Getenv("MAMORI_NEEDLE_TERMS"), ",")
	if terms[0] == "" {
		terms = []string{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	q := Query{}
	if os.Getenv("MAMORI_NEEDLE_TOKENS") != "" {
		q.Filter = f
	}
	refs, _, err := snap.Blocks(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	blocks, skelBlocks, clean, many, dirtySkels, dirtyRows, stored, pass := 0, 0, 0, 0, 0, 0, 0, 0
	var took time.Duration
	computed, computedPass := 0, 0
	var sumTook time.Duration
	rowsAll := 0
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		blocks++
		bm := pr.bm()
		var fields []string
		for _, c := range bm.cols {
			if n := pr.p.names[c.name]; !event.IsMeta(n) {
				fields = append(fields, n)
			}
		}
		for _, c := range bm.cols {
			if pr.p.names[c.name] != event.FieldRaw {
				continue
			}
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if ch[0] != kindSkeleton {
				continue
			}
			sb, err := decodeSkeletonHead(ch, int(bm.rows), pr.p.pool)
			if err != nil {
				t.Fatal(err)
			}
			skelBlocks++
			var rr rawRefs
			start := time.Now()
			rr.summarize(sb.skels)
			sumTook += time.Since(start)
			rowsAll += int(bm.rows)
			switch {
			case rr.many:
				many++
			case len(rr.dirty) == 0:
				clean++
			default:
				dirtySkels += len(rr.dirty)
				for _, id := range sb.ids {
					if id > 0 && slices.Contains(rr.dirty, id-1) {
						dirtyRows++
					}
				}
			}
			sb.release()
			var ns needleScratch
			ok, err = ns.open(ch, int(bm.rows), pr.p.pool)
			if err != nil {
				t.Fatal(err)
			}
			if ok && !ns.f.refs.covers(&rr) {
				t.Errorf("part %s block %d: stored summary lacks the skeletons'", pr.p.path, pr.i)
			}
			if !ok && len(ns.f.maxLens) > 0 {
				// A filter without a summary: decide with the computed one.
				ns.f.refs, ns.f.hasRefs = rr, true
				b := refsBlock{rows: int(bm.rows), cols: pr.p.blockColumns(bm)[1:], host: pr.Host(), source: pr.Source(), loadRows: pr.LoadRows}
				if yes, err := ns.decide(&b, terms, fields); err != nil {
					t.Fatal(err)
				} else if yes {
					computedPass++
				}
				computed++
			}
			ns.release()
			if ok {
				stored++
				start := time.Now()
				ok, err := pr.TermsOnlyInValues(terms, fields)
				took += time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					pass++
				}
			}
		}
	}
	t.Logf("%d blocks, %d with skeletons: %d clean, %d with too many dirty skeletons, the others %d dirty skeletons in %d rows", blocks, skelBlocks, clean, many, dirtySkels, dirtyRows)
	t.Logf("%d blocks store a summary; terms %q only in values in %d (TermsOnlyInValues: %v in all)", stored, terms, pass, took)
	t.Logf("summaries of the skeletons: %v in all, %.1f ns a row", sumTook, float64(sumTook.Nanoseconds())/float64(max(rowsAll, 1)))
	t.Logf("%d blocks have a filter without a summary; with the summary of their skeletons, terms only in values in %d", computed, computedPass)
}
