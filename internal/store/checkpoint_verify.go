package store

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// VerifyOptions adds to Verify what the data directory cannot vouch for
// itself.
type VerifyOptions struct {
	// PublicKeys check the checkpoint signatures (FILE.pub from 'mamori
	// audit keygen'; several for rotated keys). Without them a checkpoint
	// is checked against the key it names, which catches damage but not a
	// forgery, and a missing checkpoint file is not a problem.
	PublicKeys []ed25519.PublicKey
	// CheckpointCopies are copies of the checkpoint file kept off the host
	// (Options.CheckpointCopy, or the lines an OnCheckpoint hook shipped).
	// They reveal checkpoints cut off or rewritten in DIR/CHECKPOINTS.
	CheckpointCopies []string
}

// ckptEntry is one parsed checkpoint line.
type ckptEntry struct {
	c     Checkpoint
	file  string
	line  int
	off   int64
	raw   []byte // the line without its newline
	sigOK bool
}

func (e *ckptEntry) label() string {
	return fmt.Sprintf("checkpoint %d at %s", e.c.N, e.c.TimeUTC().Format(time.RFC3339))
}

// parsedLine is a checkpoint line parsed and its signature checked.
type parsedLine struct {
	c     Checkpoint
	why   string // what is wrong with the line's syntax, or ""
	sigOK bool
}

// ckptReader parses and checks checkpoint files: line syntax, numbering,
// the chain of Prev hashes and each signature.
type ckptReader struct {
	keys []ed25519.PublicKey
	seen map[[32]byte]parsedLine // by line hash: a copy repeats the local lines
	rep  *Report
	// copy says the file is a copy, which may start at any checkpoint
	// (the copy was configured later).
	copy bool
}

func newCkptReader(keys []ed25519.PublicKey, rep *Report) *ckptReader {
	return &ckptReader{keys: keys, seen: map[[32]byte]parsedLine{}, rep: rep}
}

// readFile checks the file at path; a missing file is the caller's to
// report.
func (cr *ckptReader) readFile(path string) ([]*ckptEntry, error) {
	f, err := os.Open(path) // #nosec G304 -- paths are the store's own files or the operator's --checkpoints argument
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return cr.parse(f, path)
}

// parse checks the checkpoint lines of r, named path in problems.
func (cr *ckptReader) parse(r io.Reader, path string) ([]*ckptEntry, error) {
	var out []*ckptEntry
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	var prevRaw []byte // the line before, parsed or not
	var last *ckptEntry
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && err == io.EOF {
			cr.rep.Notes = append(cr.rep.Notes, Problem{File: path, Offset: off, What: fmt.Sprintf("line %d: torn last checkpoint (no newline), cut on next open", line)})
			break
		}
		if len(b) > 0 {
			raw := b[:len(b)-1]
			if e := cr.check(path, line, off, raw, prevRaw, last); e != nil {
				out = append(out, e)
				last = e
			}
			prevRaw = raw
			off += int64(len(b))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return out, nil
}

// lookup parses raw and checks its signature, once per distinct line.
func (cr *ckptReader) lookup(raw []byte) parsedLine {
	h := sha256.Sum256(raw)
	pl, ok := cr.seen[h]
	if !ok {
		c, sig, body, why := parseCheckpointLine(raw)
		pl = parsedLine{c: c, why: why}
		if why == "" {
			pl.sigOK = verifyCheckpointSig(&c, sig, body, cr.keys)
		}
		cr.seen[h] = pl
	}
	return pl
}

// check checks one line against the one before it; it returns nil when
// the line does not parse.
func (cr *ckptReader) check(path string, line int, off int64, raw, prevRaw []byte, last *ckptEntry) *ckptEntry {
	pl := cr.lookup(raw)
	if pl.why != "" {
		cr.rep.add(path, off, "line %d: %s", line, pl.why)
		return nil
	}
	c := pl.c
	e := &ckptEntry{c: c, file: path, line: line, off: off, raw: raw, sigOK: pl.sigOK}
	if !e.sigOK {
		cr.rep.add(path, off, "line %d: %s: signature invalid: the checkpoint was edited or forged", line, e.label())
	}
	want := ""
	if prevRaw != nil {
		h := sha256.Sum256(prevRaw)
		want = hex.EncodeToString(h[:])
	}
	if c.Prev != want && !(cr.copy && line == 1) {
		cr.rep.add(path, off, "line %d: %s does not chain to the line before it: a checkpoint before it was edited, removed or reordered", line, e.label())
	}
	switch {
	case line == 1 && c.N != 1 && !cr.copy:
		cr.rep.add(path, off, "line %d: %s is first, want checkpoint 1: earlier checkpoints were removed", line, e.label())
	case last != nil && c.N != last.c.N+1:
		cr.rep.add(path, off, "line %d: %s follows checkpoint %d: checkpoints removed, duplicated or reordered", line, e.label(), last.c.N)
	}
	if last != nil && c.Seq < last.c.Seq {
		cr.rep.add(path, off, "line %d: %s signs sequence %d, below the %d of the checkpoint before it", line, e.label(), c.Seq, last.c.Seq)
	}
	return e
}

// readCheckpoints reads the local checkpoint file and the copies, reports
// what differs between them, and returns the distinct checkpoints whose
// signature holds, oldest first.
func readCheckpoints(dir string, opts VerifyOptions, rep *Report) ([]*ckptEntry, error) {
	local := filepath.Join(dir, checkpointName)
	cr := newCkptReader(opts.PublicKeys, rep)
	mine, err := cr.readFile(local)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err != nil && (len(opts.PublicKeys) > 0 || len(opts.CheckpointCopies) > 0) {
		rep.add(local, -1, "checkpoint file missing")
	}
	all := append([]*ckptEntry(nil), mine...)
	for _, cp := range opts.CheckpointCopies {
		cr.copy = true
		theirs, err := cr.readFile(cp)
		if err != nil {
			rep.add(cp, -1, "checkpoint copy unreadable: %v", err)
			continue
		}
		compareCheckpointCopy(local, mine, cp, theirs, rep)
		all = append(all, theirs...)
	}
	if len(all) > 0 && len(opts.PublicKeys) == 0 {
		rep.Notes = append(rep.Notes, Problem{File: local, Offset: -1, What: "checkpoint signatures checked against the key each checkpoint names, not a trusted public key: pass the public key to detect forged checkpoints"})
	}
	distinct := map[[32]byte]bool{}
	var out []*ckptEntry
	for _, e := range all {
		h := sha256.Sum256(e.raw)
		if !e.sigOK || distinct[h] {
			continue
		}
		distinct[h] = true
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].c.N < out[j].c.N })
	return out, nil
}

// compareCheckpointCopy reports checkpoints of the copy that the local
// file lacks or holds differently.
func compareCheckpointCopy(local string, mine []*ckptEntry, cp string, theirs []*ckptEntry, rep *Report) {
	byN := make(map[uint64]*ckptEntry, len(mine))
	for _, e := range mine {
		if byN[e.c.N] == nil {
			byN[e.c.N] = e
		}
	}
	inCopy := make(map[uint64]bool, len(theirs))
	var missing []*ckptEntry
	for _, t := range theirs {
		inCopy[t.c.N] = true
		m := byN[t.c.N]
		switch {
		case m == nil:
			missing = append(missing, t)
		case !bytes.Equal(m.raw, t.raw):
			rep.add(local, m.off, "line %d: %s differs from line %d of %s", m.line, m.label(), t.line, cp)
		}
	}
	for i, t := range missing {
		switch {
		case i == 0 || i == len(missing)-1:
			rep.add(local, -1, "%s (line %d of %s) is missing: checkpoints were cut off or deleted", t.label(), t.line, cp)
		case i == 1:
			rep.add(local, -1, "and %d more checkpoints of %s are missing", len(missing)-2, cp)
		}
	}
	for _, e := range mine {
		if !inCopy[e.c.N] {
			rep.Notes = append(rep.Notes, Problem{File: cp, Offset: -1, What: fmt.Sprintf("%s is not in the copy (the copy was behind or its write failed)", e.label())})
		}
	}
}

// seqView is the manifest at one sequence: its hash and a digest of the
// live parts.
type seqView struct {
	hash  [32]byte
	parts [32]byte
}

// partsDigest hashes a sorted list of parts' name, size, CRC and rows.
func partsDigest(n int, at func(i int) (string, int64, uint32, int64)) [32]byte {
	h := sha256.New()
	for i := 0; i < n; i++ {
		name, size, crc, rows := at(i)
		fmt.Fprintf(h, "%s %d %08x %d\n", name, size, crc, rows)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

func digestOfState(st *manifestState) [32]byte {
	ps := st.sortedParts()
	return partsDigest(len(ps), func(i int) (string, int64, uint32, int64) {
		return ps[i].Name, ps[i].Size, ps[i].CRC, ps[i].Rows
	})
}

func digestOfCheckpoint(c *Checkpoint) [32]byte {
	ps := append([]CheckpointPart(nil), c.Parts...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return partsDigest(len(ps), func(i int) (string, int64, uint32, int64) {
		return ps[i].Name, ps[i].Size, ps[i].CRC, ps[i].Rows
	})
}

// checkCheckpoints checks that the manifest extends every checkpoint and,
// when it does not extend the newest, which of that checkpoint's parts are
// gone or changed. views holds the manifest at each signed sequence.
func checkCheckpoints(dir string, st *manifestState, broken bool, views map[uint64]seqView, cps []*ckptEntry, rep *Report) {
	if len(cps) == 0 {
		return
	}
	man := filepath.Join(dir, manifestName)
	newest := cps[0]
	var lastGood *ckptEntry
	// Failures of one kind are reported first and last, with a count of
	// those between: a rewind fails every later checkpoint alike.
	var beyond, rewritten []string
	for _, e := range cps {
		if e.c.Seq > newest.c.Seq || e.c.Seq == newest.c.Seq && e.c.N > newest.c.N {
			newest = e
		}
		if e.c.Seq > st.seq {
			if broken {
				beyond = append(beyond, fmt.Sprintf("%s signs sequence %d, but the intact chain ends at sequence %d (damage above)", e.label(), e.c.Seq, st.seq))
			} else {
				beyond = append(beyond, fmt.Sprintf("manifest rewound below signed sequence %d: it ends at sequence %d (%s)", e.c.Seq, st.seq, e.label()))
			}
			continue
		}
		v := views[e.c.Seq]
		if hex.EncodeToString(v.hash[:]) != e.c.Head {
			after := ""
			if lastGood != nil {
				after = fmt.Sprintf(" after sequence %d (%s, which holds)", lastGood.c.Seq, lastGood.label())
			}
			rewritten = append(rewritten, fmt.Sprintf("manifest history rewritten at or before sequence %d%s: entry %d does not match %s", e.c.Seq, after, e.c.Seq, e.label()))
			continue
		}
		if v.parts != digestOfCheckpoint(&e.c) {
			rep.add(e.file, e.off, "line %d: %s lists other live parts than the manifest at sequence %d", e.line, e.label(), e.c.Seq)
			continue
		}
		lastGood = e
	}
	for _, msgs := range [][]string{rewritten, beyond} {
		if len(msgs) > 2 {
			msgs = []string{msgs[0], fmt.Sprintf("and %d more checkpoints alike", len(msgs)-2), msgs[len(msgs)-1]}
		}
		for _, m := range msgs {
			rep.add(man, -1, "%s", m)
		}
	}
	rep.Checkpoints = len(cps)
	rep.LastCheckpoint, rep.LastCheckpointSeq, rep.LastCheckpointTime = newest.c.N, newest.c.Seq, newest.c.TimeUTC()
	if lastGood != newest {
		checkSignedParts(filepath.Join(dir, partsDir), st, newest, rep)
	}
}

// checkSignedParts reports the parts of checkpoint e, which the manifest no
// longer extends, that are missing, changed or dropped from the manifest.
func checkSignedParts(root string, st *manifestState, e *ckptEntry, rep *Report) {
	for _, p := range e.c.Parts {
		path := filepath.Join(root, filepath.FromSlash(p.Name))
		if !filepath.IsLocal(filepath.FromSlash(p.Name)) {
			rep.add(e.file, e.off, "line %d: %s names part %q outside the parts directory", e.line, e.label(), p.Name)
			continue
		}
		cur, live := st.parts[p.Name]
		if live && cur.Size == p.Size && cur.CRC == p.CRC {
			continue // the part checks cover its file
		}
		size, crc, err := fileCRC(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			rep.add(path, -1, "%s: part missing (%d rows signed)", e.label(), p.Rows)
		case err != nil:
			rep.add(path, -1, "%s: part unreadable: %v", e.label(), err)
		case size != p.Size:
			rep.add(path, -1, "%s: part changed: size %d, signed %d", e.label(), size, p.Size)
		case crc != p.CRC:
			rep.add(path, -1, "%s: part changed: checksum differs from the signed one", e.label())
		default:
			rep.add(path, -1, "%s: part dropped from the manifest (the file is intact)", e.label())
		}
	}
}

// fileCRC returns the size and CRC-32C of the file at path.
func fileCRC(path string) (int64, uint32, error) {
	f, err := os.Open(path) // #nosec G304 -- paths are the store's own files or the operator's --checkpoints argument
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, f)
	return n, h.Sum32(), err
}

// commitChecker checks what each manifest commit claims (merges keep every
// row, only retention and the disk budget delete) and collects the
// deletions for the report.
type commitChecker struct {
	path  string
	rep   *Report
	known map[string]partInfo // every part ever added
	want  map[uint64]bool     // sequences signed by checkpoints
	views map[uint64]seqView
}

func (cc *commitChecker) hook(line int, off int64, c *commit, st *manifestState) {
	if cc.want[c.Seq] {
		cc.views[c.Seq] = seqView{hash: st.lastHash, parts: digestOfState(st)}
	}
	var inRows, outRows int64
	for _, p := range c.Add {
		outRows += p.Rows
	}
	for _, rm := range c.Remove {
		inRows += cc.known[rm.Name].Rows
		if c.Op != "merge" {
			cc.rep.Removals = append(cc.rep.Removals, Removal{Seq: c.Seq, Time: time.Unix(0, c.Time).UTC(), Op: c.Op, Part: rm.Name, Rows: cc.known[rm.Name].Rows, Reason: rm.Reason})
		}
	}
	for _, p := range c.Add {
		cc.known[p.Name] = p
	}
	bad := func(format string, args ...any) {
		cc.rep.add(cc.path, off, "line %d (sequence %d, %s): %s", line, c.Seq, c.Op, fmt.Sprintf(format, args...))
	}
	switch c.Op {
	case "flush":
		if len(c.Remove) > 0 {
			bad("a flush removes %d parts", len(c.Remove))
		}
	case "merge":
		if inRows != outRows {
			bad("merge of %d rows wrote %d: rows dropped", inRows, outRows)
		}
		for _, rm := range c.Remove {
			if rm.Reason != "merge" {
				bad("part %s removed for %q in a merge", rm.Name, rm.Reason)
			}
		}
	case "retention", "disk_budget":
		if len(c.Add) > 0 {
			bad("adds %d parts", len(c.Add))
		}
		for _, rm := range c.Remove {
			if !strings.HasPrefix(rm.Reason, strings.ReplaceAll(c.Op, "_", " ")) {
				bad("part %s removed for %q", rm.Name, rm.Reason)
			}
		}
	}
}

// Removal is a part deletion the manifest records (merges excepted: their
// rows live on in the merged part).
type Removal struct {
	Seq    uint64
	Time   time.Time
	Op     string // retention, disk_budget, ...
	Part   string
	Rows   int64
	Reason string
}
