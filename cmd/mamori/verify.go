package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/store"
)

func init() {
	register("verify", "check the integrity of a data directory", runVerify)
}

// verifyFailed makes main exit with status 1 after the report is printed.
type verifyFailed struct{ n int }

func (e verifyFailed) Error() string { return fmt.Sprintf("%d problems found", e.n) }
func (e verifyFailed) ExitCode() int { return 1 }

func runVerify(ctx context.Context, args []string) error {
	fs := newFlagSet("verify", "")
	dir := fs.String("data", "./mamori-data", "data directory to check (default ./mamori-data)")
	asJSON := fs.Bool("json", false, "print the report as JSON (default false)")
	var pubFiles, copies stringList
	fs.Var(&pubFiles, "pubkey", "public key file (FILE.pub from 'mamori audit keygen') that checks the store's signed checkpoints (repeatable, for rotated keys)")
	fs.Var(&copies, "checkpoints", "copy of the checkpoint file kept off the host, compared with DATA's (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	opts := store.VerifyOptions{CheckpointCopies: copies}
	for _, f := range pubFiles {
		k, err := readPublicKey(f)
		if err != nil {
			return err
		}
		opts.PublicKeys = append(opts.PublicKeys, k)
	}
	rep, err := store.VerifyWith(storeDir(*dir), opts)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Printf("%s: %d parts, %d blocks, %d rows, %d manifest commits, %d WAL segments\n",
			rep.Dir, rep.Parts, rep.Blocks, rep.Rows, rep.Commits, rep.WALSegments)
		printCheckpoints(rep, len(opts.PublicKeys) > 0)
		for _, n := range rep.Notes {
			fmt.Printf("note: %s\n", n)
		}
		for _, p := range rep.Problems {
			fmt.Printf("PROBLEM: %s\n", p)
		}
		if rep.OK() {
			fmt.Println("ok")
		}
	}
	if !rep.OK() {
		return verifyFailed{len(rep.Problems)}
	}
	return nil
}

// storeDir returns the store inside a server data directory (DATA/store),
// or dir itself when it is a store directory already.
func storeDir(dir string) string {
	if st, err := os.Stat(filepath.Join(dir, "store")); err == nil && st.IsDir() {
		return filepath.Join(dir, "store")
	}
	return dir
}

// printCheckpoints prints the checkpoint and deletion summary.
func printCheckpoints(rep *store.Report, keyed bool) {
	if rep.Checkpoints > 0 {
		how := "signatures checked with the given public key"
		if !keyed {
			how = "signatures NOT checked against a trusted key (use --pubkey)"
		}
		fmt.Printf("%d signed checkpoints; the newest, %d at %s, signs manifest sequence %d (%s)\n",
			rep.Checkpoints, rep.LastCheckpoint, rep.LastCheckpointTime.Format(time.RFC3339), rep.LastCheckpointSeq, how)
	}
	byOp := map[string]int{}
	var rows int64
	for _, r := range rep.Removals {
		byOp[r.Op]++
		rows += r.Rows
	}
	if len(rep.Removals) > 0 {
		ops := make([]string, 0, len(byOp))
		for op, n := range byOp {
			ops = append(ops, fmt.Sprintf("%d by %s", n, op))
		}
		sort.Strings(ops)
		fmt.Printf("recorded deletions: %d parts (%d rows): %s (--json lists them)\n", len(rep.Removals), rows, strings.Join(ops, ", "))
	}
}

// readPublicKey reads a hex Ed25519 public key written by 'mamori audit
// keygen' (FILE.pub).
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the key path is the operator's own command-line argument
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %s: want the hex Ed25519 public key written by 'mamori audit keygen' (FILE.pub)", path)
	}
	return k, nil
}
