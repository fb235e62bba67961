package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
)

// The manifest is an append-only text file, one commit per line:
//
//	<64 hex chars: SHA-256(previous line's hash || JSON)> <space> <JSON commit> \n
//
// The first line's previous hash is empty. Replaying the commits gives the
// live parts and the WAL position already in parts. Nothing is ever
// rewritten: removals (merges, retention) are commits too.
const manifestName = "MANIFEST"

// ErrManifestCorrupt is wrapped by errors about a damaged manifest.
var ErrManifestCorrupt = errors.New("manifest corrupt")

// commit is one manifest entry.
type commit struct {
	Seq    uint64     `json:"seq"`
	Time   int64      `json:"time"` // Unix ns, when written
	Op     string     `json:"op"`   // flush, merge, retention, disk_budget, open
	Add    []partInfo `json:"add,omitempty"`
	Remove []removal  `json:"remove,omitempty"`
	// WALLSN, when non-zero, says every WAL record up to it is in parts.
	WALLSN uint64 `json:"wal_lsn,omitempty"`
}

type removal struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// manifestState is the result of replaying a manifest.
type manifestState struct {
	parts    map[string]partInfo
	removed  map[string]bool // parts removed by a commit
	walLSN   uint64
	seq      uint64
	lastHash [32]byte
	maxID    uint64 // highest part id ever used
	good     int64  // bytes of complete, valid lines
	torn     string // why the tail after good was cut, if it was
}

// manifestProblem is a verify finding.
type manifestProblem struct {
	Line   int
	Offset int64
	What   string
}

// readManifest replays r. Damage before the last line is returned as
// problems (and ErrManifestCorrupt from the first one); a bad last line
// without a newline is a torn tail (state.torn).
func readManifest(r io.Reader) (*manifestState, []manifestProblem) {
	return replayManifest(r, nil)
}

// commitHook sees each valid commit right after it is applied: its line
// number, byte offset, the commit, and the state after it.
type commitHook func(line int, off int64, c *commit, st *manifestState)

// replayManifest is readManifest that also calls onCommit (when not nil)
// for each valid commit, in order.
func replayManifest(r io.Reader, onCommit commitHook) (*manifestState, []manifestProblem) {
	st := &manifestState{parts: map[string]partInfo{}, removed: map[string]bool{}}
	var probs []manifestProblem
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	broken := false
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			break
		}
		complete := err == nil
		if !complete {
			st.torn = "last line has no newline"
			break
		}
		if broken {
			off += int64(len(b))
			continue
		}
		var c commit
		if why := st.apply(b[:len(b)-1], &c); why != "" {
			probs = append(probs, manifestProblem{Line: line, Offset: off, What: why})
			broken = true // later lines cannot be trusted against the chain
		} else {
			st.good = off + int64(len(b))
			if onCommit != nil {
				onCommit(line, off, &c, st)
			}
		}
		off += int64(len(b))
	}
	return st, probs
}

// chainHash returns the hash of a manifest line whose JSON is body, after
// the line whose hash is prev (nil for the first line).
func chainHash(prev *[32]byte, body []byte) [32]byte {
	h := sha256.New()
	if prev != nil {
		h.Write(prev[:])
	}
	h.Write(body)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// appendCommitLine appends the manifest line for body after the line
// whose hash is prev (nil for the first line) and returns its hash.
func appendCommitLine(dst []byte, prev *[32]byte, body []byte) ([]byte, [32]byte) {
	sum := chainHash(prev, body)
	dst = hex.AppendEncode(dst, sum[:])
	dst = append(dst, ' ')
	dst = append(dst, body...)
	return append(dst, '\n'), sum
}

// apply checks and applies one line, decoding it into c; it returns what
// is wrong, or "".
func (st *manifestState) apply(line []byte, c *commit) string {
	if len(line) < 66 || line[64] != ' ' {
		return "malformed line"
	}
	var want [32]byte
	if _, err := hex.Decode(want[:], line[:64]); err != nil {
		return "malformed hash"
	}
	body := line[65:]
	var prev *[32]byte
	if st.seq > 0 {
		prev = &st.lastHash
	}
	got := chainHash(prev, body)
	// The hash must be the canonical lower-case hex: an upper-case digit
	// decodes to the same bytes, and an edit must never go unnoticed.
	if got != want || !bytes.Equal(hex.AppendEncode(nil, got[:]), line[:64]) {
		return "hash chain broken: entry edited, reordered or removed"
	}
	if err := json.Unmarshal(body, c); err != nil {
		return "bad JSON: " + err.Error()
	}
	if c.Seq != st.seq+1 {
		return fmt.Sprintf("sequence %d, want %d", c.Seq, st.seq+1)
	}
	for _, rm := range c.Remove {
		if _, ok := st.parts[rm.Name]; !ok {
			return fmt.Sprintf("removes unknown part %s", rm.Name)
		}
		delete(st.parts, rm.Name)
		st.removed[rm.Name] = true
	}
	for _, p := range c.Add {
		if _, ok := st.parts[p.Name]; ok {
			return fmt.Sprintf("adds part %s twice", p.Name)
		}
		st.parts[p.Name] = p
		if id := partID(p.Name); id > st.maxID {
			st.maxID = id
		}
	}
	if c.WALLSN > st.walLSN {
		st.walLSN = c.WALLSN
	}
	st.seq = c.Seq
	st.lastHash = got
	return ""
}

// sortedParts returns the live parts sorted by name.
func (st *manifestState) sortedParts() []partInfo {
	out := make([]partInfo, 0, len(st.parts))
	for _, p := range st.parts {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// manifest appends commits to the manifest file.
type manifest struct {
	mu    sync.Mutex // guards f, state
	path  string
	f     *os.File
	state *manifestState
}

// openManifest replays the manifest in dir (creating it if missing),
// cuts a torn last line, and fails on other damage.
func openManifest(dir string) (*manifest, error) {
	path := dir + string(os.PathSeparator) + manifestName
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600) // #nosec G304 -- the store's own manifest
	if err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	st, probs := readManifest(f)
	if len(probs) > 0 {
		f.Close()
		return nil, fmt.Errorf("open manifest %s: line %d at offset %d: %s: %w", path, probs[0].Line, probs[0].Offset, probs[0].What, ErrManifestCorrupt)
	}
	if err := f.Truncate(st.good); err != nil {
		f.Close()
		return nil, fmt.Errorf("open manifest: cut torn tail: %w", err)
	}
	if _, err := f.Seek(st.good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	return &manifest{path: path, f: f, state: st}, nil
}

// append writes c (its Seq is filled in) and syncs.
func (m *manifest) append(c commit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.state
	c.Seq = st.seq + 1
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("manifest append: %w", err)
	}
	var prev *[32]byte
	if st.seq > 0 {
		prev = &st.lastHash
	}
	line, _ := appendCommitLine(make([]byte, 0, 66+len(body)), prev, body)
	if _, err := m.f.Write(line); err != nil {
		return fmt.Errorf("manifest append: %w", err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("manifest append: %w", err)
	}
	var applied commit
	if why := st.apply(bytes.TrimSuffix(line, []byte{'\n'}), &applied); why != "" {
		panic("BUG: manifest rejected its own commit: " + why)
	}
	st.good += int64(len(line))
	return nil
}

// nextID returns a fresh part id.
func (m *manifest) nextID() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state.maxID++
	return m.state.maxID
}

func (m *manifest) walLSN() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.walLSN
}

// liveParts returns the live parts sorted by name.
func (m *manifest) liveParts() []partInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.sortedParts()
}

// head returns the sequence and hash of the last commit and the live parts
// after it, all from one instant.
func (m *manifest) head() (uint64, [32]byte, []partInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.seq, m.state.lastHash, m.state.sortedParts()
}

func (m *manifest) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.f.Close(); err != nil {
		return fmt.Errorf("close manifest: %w", err)
	}
	return nil
}
