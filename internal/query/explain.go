package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// Plan describes how a query runs, for "explain": what is pushed to the
// store, what the store pruned, and how the stages execute.
type Plan struct {
	Query string `json:"query"`
	// Mode is "rows" (event rows in time order), "rows-buffered" (all rows
	// then table stages), "aggregate", or "metadata" (answered from block
	// metadata without decoding columns where possible).
	Mode       string        `json:"mode"`
	From       int64         `json:"from,omitempty"`
	To         int64         `json:"to,omitempty"`
	Partitions []string      `json:"partitions,omitempty"`
	Sources    []string      `json:"sources,omitempty"`
	Hosts      []string      `json:"hosts,omitempty"`
	Filter     string        `json:"filter,omitempty"`
	Columns    []string      `json:"columns"`
	AllColumns bool          `json:"all_columns"`
	Order      string        `json:"order,omitempty"`
	Limit      int           `json:"limit,omitempty"`
	RowStages  int           `json:"row_stages"`
	Aggregate  bool          `json:"aggregate"`
	TableOps   int           `json:"table_stages"`
	Empty      bool          `json:"empty,omitempty"`
	Store      store.Stats   `json:"store"`
	Took       time.Duration `json:"took_ns"`
}

// Explain plans q and asks the store which blocks it would read, without
// decoding any.
func Explain(ctx context.Context, snap store.Snapshot, q *Query, opts Options) (*Plan, error) {
	start := time.Now()
	q, err := prepareQuery(ctx, snap, q, &opts)
	if err != nil {
		return nil, err
	}
	p, err := newPlan(q, &opts)
	if err != nil {
		return nil, fmt.Errorf("plan query: %w", err)
	}
	out := &Plan{
		Query: q.String(), From: p.sq.MinTime, To: p.sq.MaxTime,
		Partitions: p.sq.Partitions, Sources: p.sq.Sources, Hosts: p.sq.Hosts,
		Filter: FilterString(p.sq.Filter), Columns: dedupe(append(append([]string{}, p.matchNeed.names...), p.stageNeed.names...)),
		AllColumns: p.matchNeed.all || p.outAll, RowStages: len(p.prefix), Aggregate: p.agg != nil,
		TableOps: len(p.post), Empty: p.empty, Limit: p.limit,
	}
	switch {
	case p.fast != "":
		out.Mode = "metadata"
	case p.agg != nil:
		out.Mode = "aggregate"
	case p.stream:
		out.Mode = "rows"
	default:
		out.Mode = "rows-buffered"
	}
	if p.agg == nil {
		out.Order = "newest first"
		if p.asc {
			out.Order = "oldest first"
		}
	}
	if !p.empty {
		_, st, err := snap.Blocks(ctx, p.sq)
		if err != nil {
			return nil, fmt.Errorf("list blocks: %w", err)
		}
		out.Store = st
	}
	out.Took = time.Since(start)
	return out, nil
}

// FilterString prints a store filter for explain and tests.
func FilterString(f *store.Filter) string {
	if f == nil {
		return ""
	}
	switch f.Op {
	case store.FilterAll:
		return "all"
	case store.FilterToken:
		if f.Field == "" {
			return "token(" + quote(f.Token) + ")"
		}
		return "token(" + f.Field + ":" + quote(f.Token) + ")"
	case store.FilterEqual:
		return "equal(" + f.Field + ":" + quote(f.Value) + ")"
	case store.FilterAnd, store.FilterOr:
		s := "and("
		if f.Op == store.FilterOr {
			s = "or("
		}
		for i, k := range f.Kids {
			if i > 0 {
				s += ", "
			}
			s += FilterString(k)
		}
		return s + ")"
	}
	return "?"
}

func dedupe(names []string) []string {
	out := names[:0]
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
