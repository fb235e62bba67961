package store

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/store/wal"
)

// Report is the result of Verify.
type Report struct {
	Dir string
	// Problems are integrity failures: checksums, the manifest's hash
	// chain, missing, extra or truncated parts, damaged WAL segments.
	Problems []Problem
	// Notes are expected findings that need no action, such as a torn WAL
	// or manifest tail left by a crash (the next Open cuts it).
	Notes       []Problem
	Parts       int
	Blocks      int
	Rows        int64
	Commits     uint64
	WALSegments int
	// Checkpoints counts the distinct checkpoints whose signature holds;
	// LastCheckpoint is the number of the newest, which signed manifest
	// sequence LastCheckpointSeq at LastCheckpointTime.
	Checkpoints        int
	LastCheckpoint     uint64
	LastCheckpointSeq  uint64
	LastCheckpointTime time.Time
	// Removals are the part deletions the manifest records, merges
	// excepted (retention, disk budget), oldest first.
	Removals []Removal
}

// Problem is one finding: the file, the byte offset when known (-1 when
// not), and what is wrong.
type Problem struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	What   string `json:"what"`
}

func (p Problem) String() string {
	if p.Offset >= 0 {
		return fmt.Sprintf("%s at offset %d: %s", p.File, p.Offset, p.What)
	}
	return fmt.Sprintf("%s: %s", p.File, p.What)
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(file string, off int64, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, Offset: off, What: fmt.Sprintf(format, args...)})
}

// Verify checks a data directory without changing it: the manifest's hash
// chain, every live part (size, whole-file checksum, index, per-column
// checksums, row counts), files no commit references, every WAL segment,
// and the signed checkpoints of DIR/CHECKPOINTS. It is meant for a stopped
// store; on a live one, parts that a merge removes during the check are not
// reported. The error is non-nil only when the check itself could not run.
func Verify(dir string) (*Report, error) {
	return VerifyWith(dir, VerifyOptions{})
}

// VerifyWith is Verify with public keys for the checkpoint signatures and
// copies of the checkpoint file kept elsewhere: then a rewound, replaced or
// rewritten manifest and the parts it no longer lists are reported too,
// against each signed checkpoint.
func VerifyWith(dir string, opts VerifyOptions) (*Report, error) {
	rep := &Report{Dir: dir}
	// Checkpoints first: on a live store a checkpoint signed after the
	// manifest was read would look like a rewind.
	cps, err := readCheckpoints(dir, opts, rep)
	if err != nil {
		return nil, err
	}
	cc := &commitChecker{path: filepath.Join(dir, manifestName), rep: rep, known: map[string]partInfo{},
		want: map[uint64]bool{}, views: map[uint64]seqView{}}
	for _, e := range cps {
		cc.want[e.c.Seq] = true
	}
	before := len(rep.Problems)
	st, err := verifyManifest(dir, rep, cc.hook)
	if err != nil {
		return nil, err
	}
	broken := len(rep.Problems) > before
	checkCheckpoints(dir, st, broken, cc.views, cps, rep)
	if len(cps) > 0 {
		for _, r := range rep.Removals {
			if r.Seq > rep.LastCheckpointSeq {
				rep.Notes = append(rep.Notes, Problem{File: cc.path, Offset: -1, What: fmt.Sprintf("sequence %d (%s): part %s removed after the last signed checkpoint, not yet covered by a signature", r.Seq, r.Op, r.Part)})
			}
		}
	}
	root := filepath.Join(dir, partsDir)
	var missing []string
	names := make([]string, 0, len(st.parts))
	for n := range st.parts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if gone := verifyPart(filepath.Join(root, filepath.FromSlash(n)), st.parts[n], rep); gone {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		// On a live store a merge may have removed them meanwhile.
		again, _ := verifyManifest(dir, &Report{}, nil) // problems were reported above
		for _, n := range missing {
			if again == nil || again.parts[n].Name != "" {
				rep.add(filepath.Join(root, filepath.FromSlash(n)), -1, "part listed in the manifest is missing")
			}
		}
	}
	verifyExtra(root, st, rep)
	probs, err := wal.Check(filepath.Join(dir, walDir))
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	for _, p := range probs {
		pr := Problem{File: p.File, Offset: p.Offset, What: "wal: " + p.What}
		if p.Torn {
			pr.What += " (torn tail of the last segment, cut on next open)"
			rep.Notes = append(rep.Notes, pr)
			continue
		}
		rep.Problems = append(rep.Problems, pr)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, walDir)); err == nil {
		rep.WALSegments = len(ents)
	}
	return rep, nil
}

func verifyManifest(dir string, rep *Report, onCommit commitHook) (*manifestState, error) {
	path := filepath.Join(dir, manifestName)
	f, err := os.Open(path) // #nosec G304 -- paths come from the store directory being verified
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(dir); serr != nil {
				return nil, fmt.Errorf("verify: %w", serr)
			}
			rep.add(path, -1, "manifest missing")
			return &manifestState{parts: map[string]partInfo{}, removed: map[string]bool{}}, nil
		}
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	st, probs := replayManifest(f, onCommit)
	for _, p := range probs {
		rep.add(path, p.Offset, "line %d: %s", p.Line, p.What)
	}
	if st.torn != "" {
		rep.Notes = append(rep.Notes, Problem{File: path, Offset: st.good, What: "torn last commit (" + st.torn + "), cut on next open"})
	}
	rep.Commits = st.seq
	return st, nil
}

// verifyPart checks one part; it returns true when the file is missing.
func verifyPart(path string, info partInfo, rep *Report) bool {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return true
		}
		rep.add(path, -1, "stat: %v", err)
		return false
	}
	if fi.Size() != info.Size {
		rep.add(path, fi.Size(), "size %d, manifest says %d (truncated or extended)", fi.Size(), info.Size)
		return false
	}
	p, err := openPart(path, partInfo{Size: info.Size})
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil {
		rep.add(path, -1, "unreadable: %v", err)
		return false
	}
	defer p.release()
	if crc := crc32.Checksum(p.data, castagnoli); crc != info.CRC {
		rep.add(path, -1, "file checksum %08x, manifest says %08x", crc, info.CRC)
	}
	if p.pool != nil {
		if f, err := p.pool.check(); err != nil {
			rep.add(path, int64(p.pool.frames[f].off), "skeleton pool: %v", err)
		}
	}
	for i := range p.blocks {
		bm := &p.blocks[i]
		damaged := false
		if p.cheap() {
			// One rows chunk: its checksum, codec and every row.
			if _, err := p.cheapEvents(i); err != nil {
				rep.add(path, int64(bm.timeCol.off), "cheap block %d: %v", i, err)
			}
		}
		for _, c := range append([]colMeta{bm.timeCol}, bm.cols...) {
			if p.cheap() {
				break
			}
			ch, err := p.chunk(c)
			if err != nil {
				rep.add(path, int64(c.off), "block %d column %s: checksum mismatch", i, p.names[c.name])
				damaged = true
				continue
			}
			if err := checkChunkFrames(ch); err != nil {
				rep.add(path, int64(c.off), "block %d column %s: %v", i, p.names[c.name], err)
				damaged = true
			} else if err := checkPackedChunk(ch); err != nil {
				rep.add(path, int64(c.off), "block %d column %s: %v", i, p.names[c.name], err)
				damaged = true
			} else if err := checkPooledHead(ch, int(bm.rows), p.pool); err != nil {
				rep.add(path, int64(c.off), "block %d column %s: %v", i, p.names[c.name], err)
				damaged = true
			} else if err := checkVarsFilter(ch, int(bm.rows), p.pool); err != nil {
				rep.add(path, int64(c.off), "block %d column %s: %v", i, p.names[c.name], err)
				damaged = true
			}
		}
		if err := p.checkAliases(i); err != nil && !damaged {
			rep.add(path, -1, "block %d: %v", i, err)
		}
		if i > 0 && p.blocks[i-1].stream == bm.stream && p.blocks[i-1].maxTime > bm.minTime {
			rep.add(path, -1, "block %d overlaps the previous block of its stream", i)
		}
	}
	if p.info.Rows != info.Rows {
		rep.add(path, -1, "%d rows, manifest says %d", p.info.Rows, info.Rows)
	}
	if p.info.Partition != info.Partition || p.info.Day != info.Day {
		rep.add(path, -1, "partition %s day %d, manifest says %s day %d", p.info.Partition, p.info.Day, info.Partition, info.Day)
	}
	rep.Parts++
	rep.Blocks += len(p.blocks)
	rep.Rows += p.info.Rows
	return false
}

// verifyExtra reports files under root that no live commit references.
func verifyExtra(root string, st *manifestState, rep *Report) {
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error { // errors are reported, not returned
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				rep.add(path, -1, "walk: %v", err)
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path) // path is under root
		if _, ok := st.parts[filepath.ToSlash(rel)]; ok {
			return nil
		}
		name := filepath.ToSlash(rel)
		switch {
		case strings.HasSuffix(path, ".tmp") || partID(name) > st.maxID:
			rep.Notes = append(rep.Notes, Problem{File: path, Offset: -1, What: "part being written, or left uncommitted by a crash (removed on next open)"})
			return nil
		case st.removed[name]:
			rep.Notes = append(rep.Notes, Problem{File: path, Offset: -1, What: "part removed by the manifest, deletion pending (removed on next open)"})
			return nil
		}
		rep.add(path, -1, "file not referenced by the manifest")
		return nil
	})
}
