package auth

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Record is one audit entry. Records form a hash chain: Hash is the
// SHA-256 of Prev followed by the record's JSON without Hash, so an edit,
// a deletion or a reordering breaks the chain at that record.
type Record struct {
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	Actor   string            `json:"actor"`            // "user:alice", "token:ab12cd", "system"
	Action  string            `json:"action"`           // login, login_failed, search, token_create, ...
	Target  string            `json:"target,omitempty"` // what was acted on
	Remote  string            `json:"remote,omitempty"` // client address
	Outcome string            `json:"outcome,omitempty"`
	Details map[string]string `json:"details,omitempty"`
	// Sig, on checkpoint records, is an Ed25519 signature over the
	// checkpoint's Prev (hex) and Seq.
	Sig  string `json:"sig,omitempty"`
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

func (r *Record) computeHash() string {
	c := *r
	c.Hash = ""
	b, _ := json.Marshal(&c) // a struct of plain values always marshals
	h := sha256.New()
	h.Write([]byte(r.Prev))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func checkpointMessage(seq uint64, prev string) []byte {
	return []byte(fmt.Sprintf("mamori-audit-checkpoint seq=%d prev=%s", seq, prev))
}

// AuditOptions configures OpenAudit.
type AuditOptions struct {
	Path string
	// SigningKey, when set, signs a checkpoint record every CheckpointEvery
	// records (default 1000) and at Close. Keep the key outside the data
	// directory so that an administrator of the data cannot forge them.
	SigningKey      ed25519.PrivateKey
	CheckpointEvery int
	// OnRecord is called with each appended record (the server stores them
	// in the audit partition for search). It must not block.
	OnRecord func(Record)
	Now      func() time.Time
}

// AuditLog is an append-only, hash-chained audit log file.
type AuditLog struct {
	opts AuditOptions

	mu        sync.Mutex // guards f, seq, head, sinceCkpt
	f         *os.File
	seq       uint64
	head      string
	sinceCkpt int

	// Group commit: appenders write under mu, then wait for an fsync that
	// covers their record; one fsync serves every record written before
	// it, so concurrent appenders do not queue one fsync each. Lock
	// order: syncMu before mu.
	syncMu sync.Mutex // serializes fsyncs; guards synced
	synced uint64     // records up to this seq are on disk
}

// OpenAudit opens (or creates) the audit log, checking the chain of what
// is there; a broken chain is reported as an error but does not prevent
// appending (the break stays visible to Verify).
func OpenAudit(opts AuditOptions) (*AuditLog, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 1000
	}
	f, err := os.OpenFile(opts.Path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l := &AuditLog{opts: opts, f: f}
	rep, err := verifyAuditReader(f, nil)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l.seq, l.head = rep.LastSeq, rep.Head
	return l, nil
}

// Append adds a record, filling Seq, Time, Prev and Hash, and returns
// once it is on disk (fsynced, shared with concurrent appends).
func (l *AuditLog) Append(r Record) error {
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return errors.New("audit log closed")
	}
	if err := l.appendLocked(&r); err != nil {
		l.mu.Unlock()
		return err
	}
	l.sinceCkpt++
	if l.opts.SigningKey != nil && l.sinceCkpt >= l.opts.CheckpointEvery {
		if err := l.checkpointLocked(); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	if l.opts.OnRecord != nil {
		l.opts.OnRecord(r)
	}
	seq := l.seq
	l.mu.Unlock()
	return l.syncTo(seq)
}

// syncTo returns once the records up to seq are fsynced: by an fsync it
// runs itself (covering every record written so far), or one that
// another appender or Close ran meanwhile.
func (l *AuditLog) syncTo(seq uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced >= seq {
		return nil
	}
	l.mu.Lock()
	upTo, f := l.seq, l.f
	l.mu.Unlock()
	if f == nil { // closed without syncing seq: Close reported why
		return errors.New("audit append: log closed before the record was synced")
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	l.synced = upTo
	return nil
}

// appendLocked writes r to the file (not synced: see syncTo).
func (l *AuditLog) appendLocked(r *Record) error {
	r.Seq = l.seq + 1
	if r.Time.IsZero() {
		r.Time = l.opts.Now().UTC()
	}
	r.Prev = l.head
	r.Hash = r.computeHash()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	l.seq, l.head = r.Seq, r.Hash
	return nil
}

func (l *AuditLog) checkpointLocked() error {
	r := Record{Actor: "system", Action: "checkpoint"}
	r.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(l.opts.SigningKey, checkpointMessage(l.seq+1, l.head)))
	l.sinceCkpt = 0
	return l.appendLocked(&r)
}

// Head returns the sequence number and hash of the last record, for
// anchoring outside the machine.
func (l *AuditLog) Head() (uint64, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.head
}

// Close writes a final checkpoint (when signing), syncs and closes the
// file.
func (l *AuditLog) Close() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var err error
	if l.opts.SigningKey != nil && l.sinceCkpt > 0 {
		err = l.checkpointLocked()
	}
	if serr := l.f.Sync(); serr != nil {
		err = errors.Join(err, fmt.Errorf("audit close: %w", serr))
	} else {
		l.synced = l.seq
	}
	err = errors.Join(err, l.f.Close())
	l.f = nil
	return err
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	Records     uint64   `json:"records"`
	LastSeq     uint64   `json:"last_seq"`
	Head        string   `json:"head"`
	Checkpoints int      `json:"checkpoints"`
	Problems    []string `json:"problems"`
}

// OK reports whether the log verified without problems.
func (r *AuditReport) OK() bool { return len(r.Problems) == 0 }

// VerifyAudit checks the hash chain of an audit log file and, with a public
// key, every checkpoint signature. Every problem names the record.
func VerifyAudit(path string, pub ed25519.PublicKey) (*AuditReport, error) {
	f, err := os.Open(path) // #nosec G304 -- the audit log path comes from the server configuration or the operator's CLI argument
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	defer f.Close()
	return verifyAuditReader(f, pub)
}

func verifyAuditReader(rd io.Reader, pub ed25519.PublicKey) (*AuditReport, error) {
	rep := &AuditReport{}
	br := bufio.NewReaderSize(rd, 64<<10)
	prev := ""
	line := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			if b[len(b)-1] != '\n' {
				rep.Problems = append(rep.Problems, fmt.Sprintf("line %d: truncated record (no newline)", line))
				break
			}
			var r Record
			if jerr := json.Unmarshal(bytes.TrimSpace(b), &r); jerr != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("line %d: not a record: %v", line, jerr))
				continue
			}
			rep.Records++
			if r.Seq != rep.LastSeq+1 {
				rep.Problems = append(rep.Problems, fmt.Sprintf("record %d (line %d): sequence gap or reorder after %d: records deleted or moved", r.Seq, line, rep.LastSeq))
			}
			if r.Prev != prev {
				rep.Problems = append(rep.Problems, fmt.Sprintf("record %d (line %d): previous hash does not match: a record before it was changed, deleted or reordered", r.Seq, line))
			}
			if h := r.computeHash(); h != r.Hash {
				rep.Problems = append(rep.Problems, fmt.Sprintf("record %d (line %d): content does not match its hash: the record was edited", r.Seq, line))
			} else if canon, _ := json.Marshal(&r); !bytes.Equal(canon, bytes.TrimSuffix(b, []byte("\n"))) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("record %d (line %d): bytes differ from the record's canonical form: the line was edited", r.Seq, line))
			}
			if r.Action == "checkpoint" && r.Actor == "system" {
				rep.Checkpoints++
				if pub != nil {
					sig, derr := base64.StdEncoding.DecodeString(r.Sig)
					if derr != nil || !ed25519.Verify(pub, checkpointMessage(r.Seq, r.Prev), sig) {
						rep.Problems = append(rep.Problems, fmt.Sprintf("record %d (line %d): checkpoint signature invalid", r.Seq, line))
					}
				}
			}
			rep.LastSeq = r.Seq
			prev = r.Hash
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	rep.Head = prev
	return rep, nil
}
