package store

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Signed checkpoints: now and then (Options.CheckpointInterval) and at
// Close, the store signs the manifest's head with an Ed25519 key kept
// outside the data directory and appends the statement to the checkpoint
// file, one line each:
//
//	<128 hex: Ed25519 signature over checkpointDomain || json> ' ' <json> '\n'
//
// The JSON is a Checkpoint. Its Prev chains the checkpoints (the SHA-256 of
// the previous line without its newline), so a removed, reordered or edited
// checkpoint is visible even to a verifier without the public key.
const checkpointName = "CHECKPOINTS"

// checkpointDomain separates store checkpoint signatures from any other
// use of the same key (the audit log signs with it too).
const checkpointDomain = "mamori-store-checkpoint v1\n"

// Checkpoint is a signed statement of the manifest's head: after Seq
// commits the last line's hash was Head and these parts were live.
type Checkpoint struct {
	N     uint64           `json:"n"`    // 1, 2, 3, ... per checkpoint file
	Time  int64            `json:"time"` // Unix ns, when signed
	Seq   uint64           `json:"seq"`  // manifest sequence signed
	Head  string           `json:"head"` // hex hash of the manifest line of Seq
	Rows  int64            `json:"rows"` // rows in Parts
	Parts []CheckpointPart `json:"parts"`
	Prev  string           `json:"prev"` // hex SHA-256 of the previous checkpoint line, "" for the first
	Key   string           `json:"key"`  // hex Ed25519 public key that signed
}

// CheckpointPart is one live part in a Checkpoint.
type CheckpointPart struct {
	Name string `json:"name"` // path under parts/
	Size int64  `json:"size"`
	CRC  uint32 `json:"crc32c"`
	Rows int64  `json:"rows"`
}

// TimeUTC returns the signing time.
func (c *Checkpoint) TimeUTC() time.Time { return time.Unix(0, c.Time).UTC() }

// checkpointer signs and appends checkpoints. Its files are opened for
// each append (checkpoints are rare), so it holds no resources.
type checkpointer struct {
	key      ed25519.PrivateKey
	pubHex   string
	path     string
	copyPath string
	every    time.Duration
	hook     func(Checkpoint, []byte)
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex // guards n, prev, lastSeq, signed
	n       uint64
	prev    [32]byte // hash of the last line
	lastSeq uint64   // manifest sequence of the last checkpoint
	signed  bool     // the file holds at least one checkpoint
}

// openCheckpointer reads the end of the checkpoint file (cutting a torn
// last line, as a crash during an append leaves it) so that new
// checkpoints continue its chain. It returns nil when no key is set.
func openCheckpointer(dir string, opts Options, m *manifest) (*checkpointer, error) {
	if opts.CheckpointKey == nil {
		return nil, nil
	}
	cp := &checkpointer{key: opts.CheckpointKey, path: filepath.Join(dir, checkpointName),
		copyPath: opts.CheckpointCopy, every: opts.CheckpointInterval, hook: opts.OnCheckpoint,
		now: opts.Now, log: opts.Logger}
	cp.pubHex = hex.EncodeToString(opts.CheckpointKey.Public().(ed25519.PublicKey))
	if err := cp.readTail(); err != nil {
		return nil, fmt.Errorf("open checkpoints: %w", err)
	}
	if cp.copyPath != "" {
		if _, err := cutTornTail(cp.copyPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			cp.log.Error("checkpoint copy unusable", "file", cp.copyPath, "err", err)
		}
	}
	switch seq, _, _ := m.head(); {
	case cp.signed && seq < cp.lastSeq:
		cp.log.Error("manifest is behind the last signed checkpoint: it was rewound or replaced; run mamori verify",
			"manifest_seq", seq, "signed_seq", cp.lastSeq, "checkpoint", cp.n)
	case !cp.signed && seq > 0:
		cp.log.Warn("starting a new checkpoint chain over an existing manifest; if this store signed checkpoints before, its checkpoint file was removed",
			"file", cp.path, "manifest_seq", seq)
	}
	return cp, nil
}

// readTail finds the last checkpoint of the file.
func (cp *checkpointer) readTail() error {
	cut, err := cutTornTail(cp.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if cut > 0 {
		cp.log.Warn("cut a torn checkpoint line", "file", cp.path, "bytes", cut)
	}
	f, err := os.Open(cp.path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			b = bytes.TrimSuffix(b, []byte{'\n'})
			c, _, _, why := parseCheckpointLine(b)
			if why != "" {
				cp.log.Warn("damaged checkpoint line; mamori verify reports it", "file", cp.path, "line", line, "problem", why)
			} else {
				cp.n, cp.lastSeq, cp.signed = c.N, c.Seq, true
				cp.prev = sha256.Sum256(b)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// write signs the manifest's head and appends it, unless nothing was
// committed since the last checkpoint.
func (cp *checkpointer) write(m *manifest) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	seq, head, parts := m.head()
	if seq == 0 || (cp.signed && seq == cp.lastSeq) {
		return nil
	}
	c := Checkpoint{N: cp.n + 1, Time: cp.now().UnixNano(), Seq: seq, Head: hex.EncodeToString(head[:]),
		Parts: make([]CheckpointPart, len(parts)), Key: cp.pubHex}
	for i, p := range parts {
		c.Parts[i] = CheckpointPart{Name: p.Name, Size: p.Size, CRC: p.CRC, Rows: p.Rows}
		c.Rows += p.Rows
	}
	if cp.signed {
		c.Prev = hex.EncodeToString(cp.prev[:])
	}
	body, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	line := appendCheckpointLine(nil, cp.key, body)
	if err := appendSync(cp.path, line, !cp.signed); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	cp.n, cp.lastSeq, cp.signed = c.N, seq, true
	cp.prev = sha256.Sum256(line[:len(line)-1])
	if cp.copyPath != "" {
		if err := appendSync(cp.copyPath, line, false); err != nil {
			cp.log.Error("checkpoint copy not written", "file", cp.copyPath, "checkpoint", c.N, "err", err)
		}
	}
	if cp.hook != nil {
		cp.hook(c, line)
	}
	cp.log.Debug("checkpoint signed", "checkpoint", c.N, "seq", seq, "parts", len(parts))
	return nil
}

// appendCheckpointLine appends the signed line for body.
func appendCheckpointLine(dst []byte, key ed25519.PrivateKey, body []byte) []byte {
	sig := ed25519.Sign(key, checkpointMessage(body))
	dst = hex.AppendEncode(dst, sig)
	dst = append(dst, ' ')
	dst = append(dst, body...)
	return append(dst, '\n')
}

func checkpointMessage(body []byte) []byte {
	msg := make([]byte, 0, len(checkpointDomain)+len(body))
	return append(append(msg, checkpointDomain...), body...)
}

// parseCheckpointLine splits one line (without its newline) into the
// checkpoint, its signature and its JSON, or says what is wrong.
func parseCheckpointLine(line []byte) (c Checkpoint, sig, body []byte, why string) {
	const sigHex = 2 * ed25519.SignatureSize
	if len(line) < sigHex+2 || line[sigHex] != ' ' {
		return c, nil, nil, "malformed line"
	}
	sig = make([]byte, ed25519.SignatureSize)
	// Only canonical lower-case hex: an upper-case digit would decode to
	// the same signature and hide an edit.
	if _, err := hex.Decode(sig, line[:sigHex]); err != nil || !bytes.Equal(hex.AppendEncode(nil, sig), line[:sigHex]) {
		return c, nil, nil, "malformed signature"
	}
	body = line[sigHex+1:]
	if err := json.Unmarshal(body, &c); err != nil {
		return c, nil, nil, "bad JSON: " + err.Error()
	}
	if c.N == 0 {
		return c, nil, nil, "checkpoint number 0"
	}
	return c, sig, body, ""
}

// verifyCheckpointSig checks sig over body with one of keys, or, when
// keys is empty, with the key the checkpoint names.
func verifyCheckpointSig(c *Checkpoint, sig, body []byte, keys []ed25519.PublicKey) bool {
	msg := checkpointMessage(body)
	if len(keys) == 0 {
		k, err := hex.DecodeString(c.Key)
		return err == nil && len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig)
	}
	for _, k := range keys {
		if ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}

// appendSync appends b to the file at path (creating it) and syncs it;
// created also syncs the directory, for a file that may be new.
func appendSync(path string, b []byte, created bool) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // #nosec G304 -- the store's checkpoint file or the operator's configured copy
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && created {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

// cutTornTail truncates the file after its last newline and returns how
// many bytes it cut.
func cutTornTail(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0) // #nosec G304 -- the store's own checkpoint file
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	end := size
	buf := make([]byte, 4096)
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return 0, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, err
	}
	return size - end, f.Sync()
}

// closeCheckpoint signs the final checkpoint at Close.
func (s *Store) closeCheckpoint() error {
	if s.ckpt == nil {
		return nil
	}
	if err := s.ckpt.write(s.man); err != nil {
		return fmt.Errorf("final checkpoint: %w", err)
	}
	return nil
}

// validateCheckpoints reports the problems of the checkpoint options.
func (o *Options) validateCheckpoints() []error {
	var errs []error
	if o.CheckpointKey != nil && len(o.CheckpointKey) != ed25519.PrivateKeySize {
		errs = append(errs, fmt.Errorf("checkpoint key: %d bytes, want an Ed25519 private key of %d", len(o.CheckpointKey), ed25519.PrivateKeySize))
	}
	if o.CheckpointCopy != "" && o.Dir != "" {
		dir, err1 := filepath.Abs(o.Dir)
		cp, err2 := filepath.Abs(o.CheckpointCopy)
		if rel, err := filepath.Rel(dir, cp); err1 == nil && err2 == nil && err == nil && filepath.IsLocal(rel) {
			errs = append(errs, fmt.Errorf("checkpoint copy %s: inside the data directory, where it protects nothing", o.CheckpointCopy))
		}
	}
	return errs
}
