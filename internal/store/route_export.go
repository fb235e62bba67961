package store

import "github.com/mamori/mamori/internal/event"

// PartitionOf returns the partition an event goes to: its own Partition
// when set, else the first matching route, else event.DefaultPartition.
// The ingest pipeline routes before Append so that live consumers (tail,
// detection) see the same partition as the store.
func (s *Store) PartitionOf(e *event.Event) string { return route(s.opts.Routes, e) }
