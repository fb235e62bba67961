package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/mamori/mamori/internal/server"
)

type logConfig struct{ level, format string }

func init() {
	register("server", "run the server (store, ingest, search, API)", runServer)
}

func runServer(ctx context.Context, args []string) error {
	fs := newFlagSet("server", "")
	data := fs.String("data", "", "data directory (default ./mamori-data)")
	httpAddr := fs.String("http", "", "HTTP listen address (default 127.0.0.1:9280)")
	config := fs.String("config", "", "YAML configuration file; flags override it")
	fsync := fs.String("fsync", "", "WAL fsync policy: always (default) or interval")
	logLevel := fs.String("log-level", "", "log level: debug, info (default), warn or error")
	tlsCert := fs.String("tls-cert", "", "PEM certificate file: serve HTTPS")
	tlsKey := fs.String("tls-key", "", "PEM private key file for --tls-cert")
	tlsSelf := fs.Bool("tls-self-signed", false, "serve HTTPS with a throw-away self-signed certificate")
	auditKey := fs.String("audit-key", "", "Ed25519 key file (from 'mamori audit keygen') that signs audit checkpoints; keep it outside the data directory")
	checkpointCopy := fs.String("checkpoint-copy", "", "file outside the data directory that receives a copy of every signed store checkpoint (needs --audit-key)")
	var ruleDirs stringList
	fs.Var(&ruleDirs, "rules", "Sigma rule folder to load (repeatable)")
	noDetect := fs.Bool("no-detection", false, "turn live detection off")
	noContent := fs.Bool("no-content", false, "do not load Mamori's built-in content pack (rules for exchanges)")
	syslogAddr := fs.String("syslog", "", "syslog UDP and TCP listen address (default 127.0.0.1:5514), or off")
	var intelFeeds stringList
	fs.Var(&intelFeeds, "intel", "threat-intel feed file or folder: CSV, STIX 2.1 or MISP JSON (repeatable; DATA/intel is always read)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var opts server.Options
	var lc logConfig
	if *config != "" {
		if err := loadConfig(*config, &opts, &lc); err != nil {
			return err
		}
	}
	if *data != "" {
		opts.DataDir = *data
	}
	if *httpAddr != "" {
		opts.HTTPAddr = *httpAddr
	}
	if *fsync != "" {
		opts.Store.Sync = *fsync
	}
	if *logLevel != "" {
		lc.level = *logLevel
	}
	if *tlsCert != "" {
		opts.TLSCert = *tlsCert
	}
	if *tlsKey != "" {
		opts.TLSKey = *tlsKey
	}
	opts.TLSSelfSigned = opts.TLSSelfSigned || *tlsSelf
	if *auditKey != "" {
		k, err := readPrivateKey(*auditKey)
		if err != nil {
			return err
		}
		opts.AuditSigningKey = k
	}
	if *checkpointCopy != "" {
		opts.Store.CheckpointCopy = *checkpointCopy
	}
	opts.RuleDirs = append(opts.RuleDirs, ruleDirs...)
	opts.NoDetection = opts.NoDetection || *noDetect
	opts.NoContent = opts.NoContent || *noContent
	opts.IntelPaths = append(opts.IntelPaths, intelFeeds...)
	switch *syslogAddr {
	case "":
	case "off":
		opts.Receivers.SyslogOff = true
	default:
		opts.Receivers.Syslog.UDPAddr, opts.Receivers.Syslog.TCPAddr = *syslogAddr, *syslogAddr
	}
	log, err := newLogger(lc)
	if err != nil {
		return err
	}
	opts.Logger = log
	opts.AdminToken = os.Getenv("MAMORI_ADMIN_TOKEN")
	return server.Run(ctx, opts)
}

func newLogger(lc logConfig) (*slog.Logger, error) {
	var lvl slog.Level
	switch strings.ToLower(lc.level) {
	case "", "info":
		lvl = slog.LevelInfo
	case "debug":
		lvl = slog.LevelDebug
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", lc.level)
	}
	ho := &slog.HandlerOptions{Level: lvl}
	switch lc.format {
	case "", "text":
		return slog.New(slog.NewTextHandler(os.Stderr, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, ho)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", lc.format)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
