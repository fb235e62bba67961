package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mamori/mamori/internal/auth"
)

func init() {
	register("audit", "verify the audit log, or make a checkpoint signing key", runAudit)
}

func runAudit(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Usage: mamori audit verify [--data DIR] [--public-key FILE] | mamori audit keygen --out FILE")
		return errUsage
	}
	switch args[0] {
	case "verify":
		fs := newFlagSet("audit verify", "")
		data := fs.String("data", "mamori-data", "data directory")
		pubFile := fs.String("public-key", "", "public key file (FILE.pub from keygen) to check checkpoint signatures")
		asJSON := fs.Bool("json", false, "print the report as JSON")
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		var pub ed25519.PublicKey
		if *pubFile != "" {
			b, err := os.ReadFile(*pubFile)
			if err != nil {
				return err
			}
			k, err := hex.DecodeString(strings.TrimSpace(string(b)))
			if err != nil || len(k) != ed25519.PublicKeySize {
				return fmt.Errorf("%s: want a hex Ed25519 public key", *pubFile)
			}
			pub = k
		}
		rep, err := auth.VerifyAudit(filepath.Join(*data, "auth", "audit.log"), pub)
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
			fmt.Printf("%d records, last %d, head %s, %d signed checkpoints\n", rep.Records, rep.LastSeq, rep.Head, rep.Checkpoints)
			for _, p := range rep.Problems {
				fmt.Println("PROBLEM:", p)
			}
			if rep.OK() {
				fmt.Println("ok")
			}
		}
		if !rep.OK() {
			return verifyFailed{len(rep.Problems)}
		}
		return nil
	case "keygen":
		fs := newFlagSet("audit keygen", "")
		out := fs.String("out", "", "private key file to write (the public key goes to FILE.pub)")
		if err := fs.Parse(args[1:]); err != nil || *out == "" {
			fs.Usage()
			return errUsage
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(hex.EncodeToString(priv.Seed())+"\n"), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(*out+".pub", []byte(hex.EncodeToString(pub)+"\n"), 0o644); err != nil { // #nosec G306 -- the public key is meant to be read by verifiers
			return err
		}
		fmt.Printf("private key: %s (keep it off the data disk)\npublic key: %s.pub\n", *out, *out)
		return nil
	}
	return fmt.Errorf("unknown audit command %q (want verify or keygen)", args[0])
}

// readPrivateKey reads a hex Ed25519 seed written by 'mamori audit keygen'.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the key path is the operator's own command-line argument
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit key %s: want the hex seed written by 'mamori audit keygen'", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
