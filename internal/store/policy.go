package store

import (
	"fmt"
	"maps"
	"time"
)

// retentionPolicy is the part of Options an operator may change while the
// store runs (the UI's storage settings): retention per partition and the
// disk budget. It is replaced whole, never mutated.
type retentionPolicy struct {
	def    time.Duration
	ages   map[string]time.Duration
	budget int64
}

// ageFor returns the maximum age for partition p (0 = forever).
func (rp *retentionPolicy) ageFor(p string) time.Duration {
	if d, ok := rp.ages[p]; ok {
		return d
	}
	return rp.def
}

// policy returns the retention policy in force: the last SetRetention, or
// the one the store was opened with.
func (s *Store) policy() *retentionPolicy {
	if rp := s.pol.Load(); rp != nil {
		return rp
	}
	return &retentionPolicy{def: s.opts.DefaultRetention, ages: s.opts.Retention, budget: s.opts.DiskBudgetBytes}
}

// Retention returns the retention policy in force: the default maximum age
// (0 = forever), the maximum age per partition, and the disk budget in
// bytes (0 = none). The map is a copy.
func (s *Store) Retention() (defaultAge time.Duration, ages map[string]time.Duration, diskBudgetBytes int64) {
	rp := s.policy()
	return rp.def, maps.Clone(rp.ages), rp.budget
}

// SetRetention replaces the retention policy while the store runs; the
// next retention pass (the maintenance loop, or ApplyRetention) applies it.
// Negative values are refused. Changes are not persisted by the store: the
// caller keeps them (the server re-applies its saved settings at start).
func (s *Store) SetRetention(defaultAge time.Duration, ages map[string]time.Duration, diskBudgetBytes int64) error {
	if defaultAge < 0 {
		return fmt.Errorf("set retention: default age %s is negative", defaultAge)
	}
	if diskBudgetBytes < 0 {
		return fmt.Errorf("set retention: disk budget %d is negative", diskBudgetBytes)
	}
	for p, d := range ages {
		if d < 0 {
			return fmt.Errorf("set retention: partition %q: age %s is negative", p, d)
		}
	}
	s.pol.Store(&retentionPolicy{def: defaultAge, ages: maps.Clone(ages), budget: diskBudgetBytes})
	s.log.Info("retention policy changed", "default", defaultAge, "partitions", len(ages), "disk_budget_bytes", diskBudgetBytes)
	return nil
}
