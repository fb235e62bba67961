package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/server"
)

func init() {
	register("user", "manage users offline in a data directory (add, list, passwd, del, unlock)", runUser)
	register("token", "manage API tokens offline in a data directory (create, list, revoke)", runToken)
}

func openAuthOffline(data string) (*auth.Auth, error) {
	dir := filepath.Join(data, "auth")
	if _, err := os.Stat(dir); err != nil { // #nosec G703 -- the data directory is the operator's own --data argument
		return nil, fmt.Errorf("no auth state in %s (start the server once, or pass --data): %w", data, err)
	}
	// Refuse while a server runs on data (it would overwrite the change);
	// the lock is held until this command exits.
	if _, err := server.LockDataDir(data); err != nil {
		return nil, err
	}
	// An env admin token disables bootstrapping a second token here.
	return auth.Open(auth.Options{Dir: dir, AdminToken: "offline-tool"})
}

// readPassword reads one line from stdin (for --password-stdin).
func readPassword() (string, error) {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runUser(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Usage: mamori user add|list|passwd|del|unlock [--data DIR] ... (stop the server first, or use the API)")
		return errUsage
	}
	sub := args[0]
	fs := newFlagSet("user "+sub, "[NAME]")
	data := fs.String("data", "mamori-data", "data directory")
	roles := fs.String("roles", "analyst", "comma-separated roles (add)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	a, err := openAuthOffline(*data)
	if err != nil {
		return err
	}
	name := fs.Arg(0)
	needName := func() error {
		if name == "" {
			fs.Usage()
			return errUsage
		}
		return nil
	}
	switch sub {
	case "list":
		enc := json.NewEncoder(os.Stdout)
		for _, u := range a.Users() {
			if err := enc.Encode(u); err != nil {
				return err
			}
		}
		return nil
	case "add":
		if err := needName(); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "password (one line on stdin):")
		pw, err := readPassword()
		if err != nil {
			return err
		}
		u, err := a.CreateUser(name, pw, strings.Split(*roles, ","))
		if err != nil {
			return err
		}
		fmt.Printf("user %s created with roles %s\n", u.Name, strings.Join(u.Roles, ","))
		return nil
	case "passwd":
		if err := needName(); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "new password (one line on stdin):")
		pw, err := readPassword()
		if err != nil {
			return err
		}
		_, _, err = a.UpdateUser(name, auth.UserUpdate{Password: &pw})
		return err
	case "unlock":
		if err := needName(); err != nil {
			return err
		}
		_, _, err := a.UpdateUser(name, auth.UserUpdate{Unlock: true})
		return err
	case "del":
		if err := needName(); err != nil {
			return err
		}
		return a.DeleteUser(name)
	}
	return fmt.Errorf("unknown user command %q", sub)
}

func runToken(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Usage: mamori token create|list|revoke [--data DIR] ... (stop the server first, or use the API)")
		return errUsage
	}
	sub := args[0]
	fs := newFlagSet("token "+sub, "[ID]")
	data := fs.String("data", "mamori-data", "data directory")
	roles := fs.String("roles", "reader", "comma-separated roles (create)")
	name := fs.String("name", "", "token name (create)")
	expires := fs.String("expires", "", "lifetime like 720h or 30d (create; default never)")
	source := fs.String("source", "", "bind an ingest token to this source (create)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	a, err := openAuthOffline(*data)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		enc := json.NewEncoder(os.Stdout)
		for _, t := range a.Tokens() {
			if err := enc.Encode(t); err != nil {
				return err
			}
		}
		return nil
	case "create":
		var ttl time.Duration
		if *expires != "" {
			if ttl, err = parseDuration(*expires); err != nil {
				return err
			}
		}
		secret, tk, err := a.CreateToken(auth.TokenSpec{Name: *name, Roles: strings.Split(*roles, ","), Source: *source, TTL: ttl, CreatedBy: "cli"})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "token %s (%s) created; the secret is shown once:\n", tk.ID, strings.Join(tk.Roles, ","))
		fmt.Println(secret)
		return nil
	case "revoke":
		if fs.Arg(0) == "" {
			fs.Usage()
			return errUsage
		}
		return a.RevokeToken(fs.Arg(0))
	}
	return fmt.Errorf("unknown token command %q", sub)
}
