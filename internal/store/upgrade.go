package store

import (
	"context"
	"fmt"
	"sort"
)

// Upgrade rewrites every part written in an older part version with the
// current writer, one part at a time (a merge of one input, so its rows,
// partition and day stay as they are and queries see the same answers
// throughout). It returns the number of parts rewritten. Parts of the
// current version are left alone. Reading old parts needs no upgrade;
// this is for taking the current encodings' benefits on old data.
func (s *Store) Upgrade(ctx context.Context) (int, error) {
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
	s.mu.Lock()
	var old []*part
	for _, p := range s.parts {
		if p.version < partVersion && p.acquire() {
			old = append(old, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(old, func(i, j int) bool { return old[i].info.Name < old[j].info.Name })
	n := 0
	var err error
	for _, p := range old {
		if err == nil {
			if err = ctx.Err(); err == nil {
				if err = s.mergeParts(ctx, []*part{p}); err == nil {
					n++
				}
			}
		}
		if rerr := p.release(); rerr != nil {
			s.log.Warn("release upgraded part", "err", rerr)
		}
	}
	if err != nil {
		return n, fmt.Errorf("upgrade: %w", err)
	}
	return n, nil
}
