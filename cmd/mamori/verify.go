package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	rep, err := store.Verify(storeDir(*dir))
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
