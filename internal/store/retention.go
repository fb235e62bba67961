package store

import (
	"context"
	"fmt"
	"sort"
)

// ApplyRetention removes the parts whose newest event is older than their
// partition's retention, then, while the parts exceed DiskBudgetBytes, the
// parts with the oldest newest event. Each removal is a manifest commit
// naming its reason. Snapshots keep removed parts readable until released.
func (s *Store) ApplyRetention(ctx context.Context) error {
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
	now := s.opts.Now().UnixNano()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	live := make([]*part, 0, len(s.parts))
	for _, p := range s.parts {
		live = append(live, p)
	}
	s.mu.Unlock()
	sort.Slice(live, func(i, j int) bool {
		if live[i].info.MaxTime != live[j].info.MaxTime {
			return live[i].info.MaxTime < live[j].info.MaxTime
		}
		return live[i].info.Name < live[j].info.Name
	})
	pol := s.policy()
	var old, keep []*part
	var c commit
	held := 0
	for _, p := range live {
		if s.held(p) {
			held++
			continue // neither aged out nor counted against the budget
		}
		if d := pol.ageFor(p.info.Partition); d > 0 && p.info.MaxTime < now-int64(d) {
			old = append(old, p)
			c.Remove = append(c.Remove, removal{Name: p.info.Name, Reason: "retention: older than " + d.String()})
			continue
		}
		keep = append(keep, p)
	}
	if len(old) > 0 {
		c.Op = "retention"
		if err := s.commitParts(c, old, nil); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		for _, p := range old {
			s.m.retParts.Add(1)
			s.m.retBytes.Add(uint64(p.info.Size))
		}
		s.log.Info("retention removed parts", "parts", len(old))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	if held > 0 {
		s.log.Debug("retention kept parts under legal hold", "parts", held)
	}
	return s.applyDiskBudget(keep, pol.budget)
}

func (s *Store) held(p *part) bool {
	return s.opts.Holds != nil && s.opts.Holds.Covers(p.info.Partition, p.info.MinTime, p.info.MaxTime)
}

// applyDiskBudget removes the oldest of live (sorted oldest first, parts
// under legal hold already left out) until the total size fits the
// budget; held parts still count toward the total.
func (s *Store) applyDiskBudget(live []*part, budget int64) error {
	if budget <= 0 {
		return nil
	}
	var total int64
	s.mu.Lock()
	for _, p := range s.parts {
		total += p.info.Size
	}
	s.mu.Unlock()
	var drop []*part
	c := commit{Op: "disk_budget"}
	for _, p := range live {
		if total <= budget {
			break
		}
		drop = append(drop, p)
		total -= p.info.Size
		c.Remove = append(c.Remove, removal{Name: p.info.Name, Reason: fmt.Sprintf("disk budget of %d bytes exceeded", budget)})
	}
	if len(drop) == 0 {
		return nil
	}
	if err := s.commitParts(c, drop, nil); err != nil {
		return fmt.Errorf("disk budget: %w", err)
	}
	for _, p := range drop {
		s.m.budgetParts.Add(1)
		s.m.budgetBytes.Add(uint64(p.info.Size))
	}
	s.log.Warn("disk budget removed parts", "parts", len(drop), "budget_bytes", budget, "left_bytes", total)
	return nil
}
