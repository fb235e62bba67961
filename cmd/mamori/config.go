package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/alert"
	"github.com/mamori/mamori/internal/api"
	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/ingest/fluent"
	"github.com/mamori/mamori/internal/ingest/gelf"
	"github.com/mamori/mamori/internal/ingest/kafka"
	"github.com/mamori/mamori/internal/ingest/tail"
	"github.com/mamori/mamori/internal/parse"
	"github.com/mamori/mamori/internal/server"
	"github.com/mamori/mamori/internal/store"
)

// fileConfig is the YAML configuration file (--config). Every key is
// optional; flags given on the command line win over the file.
type fileConfig struct {
	Data          string `yaml:"data"`
	HTTP          string `yaml:"http"`
	HTTPTimeout   string `yaml:"http_read_timeout"` // e.g. 2m: longest a client may take to send a request
	Fsync         string `yaml:"fsync"`             // always (default) or interval
	FsyncInterval string `yaml:"fsync_interval"`    // e.g. 1s
	Retention     struct {
		Default    string            `yaml:"default"`    // e.g. 30d; empty keeps forever
		Partitions map[string]string `yaml:"partitions"` // name → age
	} `yaml:"retention"`
	DiskBudget string `yaml:"disk_budget"` // e.g. 500GB
	// AuditKey is the Ed25519 key file that signs audit and store
	// checkpoints (keep it outside the data directory); CheckpointCopy is a
	// file outside the data directory that receives every store checkpoint.
	AuditKey       string   `yaml:"audit_key"`
	CheckpointCopy string   `yaml:"checkpoint_copy"`
	Rules          []string `yaml:"rules"` // Sigma rule folders
	// DetectionQueue bounds the memory of events waiting for live
	// detection, e.g. 64MB (what does not fit is read back from the store).
	DetectionQueue string `yaml:"detection_queue"`
	// DetectionQueueWait is how long ingest waits for room in a full
	// detection queue before sending events to a catch-up, e.g. 1s (the
	// default); 0s or a negative duration: never wait.
	DetectionQueueWait string `yaml:"detection_queue_wait"`
	Notify             struct {
		Channels []alert.Channel `yaml:"channels"`
	} `yaml:"notify"`
	Criticality []detect.CriticalityRule `yaml:"criticality"`
	Monitors    []detect.Monitor         `yaml:"monitors"`
	Intel       struct {
		Feeds     []string `yaml:"feeds"`      // files or folders
		RetroDays int      `yaml:"retro_days"` // how far back new indicators are hunted
		Reload    string   `yaml:"reload"`     // how often feeds are checked, e.g. 30s
	} `yaml:"intel"`
	Routes []struct {
		Field     string `yaml:"field"`
		Match     string `yaml:"match"`
		Partition string `yaml:"partition"`
	} `yaml:"routes"`
	Ingest struct {
		MaxBody   string `yaml:"max_body"`   // e.g. 64MB
		MaxLine   string `yaml:"max_line"`   // e.g. 1MB
		Buffer    string `yaml:"buffer"`     // e.g. 256MB
		MaxMemory string `yaml:"max_memory"` // store's unflushed buffer, e.g. 256MB
	} `yaml:"ingest"`
	Search struct {
		Timeout   string `yaml:"timeout"`
		MaxMemory string `yaml:"max_memory"`
		// BlockCache bounds the cache of decompressed blocks that
		// repeated needle searches read, e.g. 64MB (the default); 0 turns
		// it off.
		BlockCache string `yaml:"block_cache"`
	} `yaml:"search"`
	Receivers struct {
		Syslog struct {
			UDP      string `yaml:"udp"` // default 127.0.0.1:5514; "off" disables
			TCP      string `yaml:"tcp"`
			TLS      string `yaml:"tls"` // RFC 5425 listener address
			Cert     string `yaml:"cert"`
			Key      string `yaml:"key"`
			ClientCA string `yaml:"client_ca"`
			Token    string `yaml:"token"`
			Timezone string `yaml:"timezone"` // zone of RFC 3164 timestamps, e.g. Asia/Tokyo or +09:00
			Source   string `yaml:"source"`
		} `yaml:"syslog"`
		GELF *struct {
			UDP   string `yaml:"udp"`
			TCP   string `yaml:"tcp"`
			Token string `yaml:"token"`
		} `yaml:"gelf"`
		Fluent *struct {
			Addr      string `yaml:"addr"`
			Token     string `yaml:"token"`
			SharedKey string `yaml:"shared_key"`
		} `yaml:"fluent"`
		Kafka *struct {
			Brokers []string `yaml:"brokers"`
			Topics  []string `yaml:"topics"`
			Group   string   `yaml:"group"`
			Format  string   `yaml:"format"`
			Token   string   `yaml:"token"`
		} `yaml:"kafka"`
		Files []struct {
			Paths  []string `yaml:"paths"`
			Token  string   `yaml:"token"`
			Source string   `yaml:"source"`
			Host   string   `yaml:"host"`
			Format string   `yaml:"format"`
		} `yaml:"files"`
		HTTP *bool `yaml:"http"` // Elasticsearch bulk, HEC, Sumo, Loki, OTLP on the API port (default true)
	} `yaml:"receivers"`
	Log struct {
		Level  string `yaml:"level"`  // debug, info, warn, error
		Format string `yaml:"format"` // text or json
	} `yaml:"log"`
	// OIDC enables single sign-on; the client secret may come from
	// MAMORI_OIDC_CLIENT_SECRET instead of the file.
	OIDC *oidcFileConfig `yaml:"oidc"`
	// LegalHolds exempt a partition ("*" for all) and time range from
	// retention while they are listed here.
	LegalHolds []struct {
		Partition string `yaml:"partition"`
		From      string `yaml:"from"` // RFC 3339; empty: since the beginning
		To        string `yaml:"to"`   // RFC 3339; empty: open-ended
		Reason    string `yaml:"reason"`
	} `yaml:"legal_holds"`
}

// oidcFileConfig is the oidc section: auth.OIDCConfig plus a CA file for
// providers behind a private certificate authority.
type oidcFileConfig struct {
	auth.OIDCConfig `yaml:",inline"`
	CAFile          string `yaml:"ca_file"`
}

// loadConfig reads a YAML file into server options, reporting every
// problem at once.
func loadConfig(path string, o *server.Options, lc *logConfig) error {
	b, err := os.ReadFile(path) // #nosec G304 -- the config path is the operator's own --config argument
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	var errs []string
	bad := func(key string, err error) {
		errs = append(errs, fmt.Sprintf("%s: %v", key, err))
	}
	o.DataDir = fc.Data
	o.HTTPAddr = fc.HTTP
	o.Store.Sync = fc.Fsync
	o.Store.CheckpointCopy = fc.CheckpointCopy
	if fc.AuditKey != "" {
		k, err := readPrivateKey(fc.AuditKey)
		if err != nil {
			bad("audit_key", err)
		}
		o.AuditSigningKey = k
	}
	if fc.FsyncInterval != "" {
		d, err := parseDuration(fc.FsyncInterval)
		if err != nil {
			bad("fsync_interval", err)
		}
		o.Store.FsyncInterval = d
	}
	if fc.HTTPTimeout != "" {
		d, err := parseDuration(fc.HTTPTimeout)
		if err != nil {
			bad("http_read_timeout", err)
		}
		o.HTTPReadTimeout = d
	}
	if fc.Retention.Default != "" {
		d, err := parseDuration(fc.Retention.Default)
		if err != nil {
			bad("retention.default", err)
		}
		o.Store.DefaultRetention = d
	}
	for name, v := range fc.Retention.Partitions {
		d, err := parseDuration(v)
		if err != nil {
			bad("retention.partitions."+name, err)
			continue
		}
		if o.Store.Retention == nil {
			o.Store.Retention = map[string]time.Duration{}
		}
		o.Store.Retention[name] = d
	}
	sizes := []struct {
		key string
		v   string
		dst *int64
	}{
		{"disk_budget", fc.DiskBudget, &o.Store.DiskBudgetBytes},
		{"ingest.max_body", fc.Ingest.MaxBody, &o.Body.MaxBytes},
		{"ingest.buffer", fc.Ingest.Buffer, &o.IngestBufferBytes},
		{"ingest.max_memory", fc.Ingest.MaxMemory, &o.Store.MaxBufferBytes},
		{"search.max_memory", fc.Search.MaxMemory, &o.SearchMaxMemory},
		{"detection_queue", fc.DetectionQueue, &o.DetectQueueBytes},
	}
	for _, s := range sizes {
		if s.v == "" {
			continue
		}
		n, err := parseSize(s.v)
		if err != nil {
			bad(s.key, err)
		}
		*s.dst = n
	}
	if fc.Search.BlockCache != "" {
		n, err := parseSize(fc.Search.BlockCache)
		if err != nil {
			bad("search.block_cache", err)
		}
		o.Store.BodyCacheBytes = n
		if n == 0 {
			o.Store.BodyCacheBytes = -1 // off
		}
	}
	if fc.Ingest.MaxLine != "" {
		n, err := parseSize(fc.Ingest.MaxLine)
		if err != nil {
			bad("ingest.max_line", err)
		}
		o.MaxLineBytes = int(n)
	}
	if fc.Search.Timeout != "" {
		d, err := parseDuration(fc.Search.Timeout)
		if err != nil {
			bad("search.timeout", err)
		}
		o.SearchTimeout = d
	}
	o.RuleDirs = append(o.RuleDirs, fc.Rules...)
	o.Channels = fc.Notify.Channels
	o.Criticality = fc.Criticality
	o.Monitors = fc.Monitors
	o.IntelPaths = fc.Intel.Feeds
	o.IntelRetroDays = fc.Intel.RetroDays
	if fc.DetectionQueueWait != "" {
		d, err := parseDuration(fc.DetectionQueueWait)
		if err != nil {
			bad("detection_queue_wait", err)
		}
		if d <= 0 {
			d = -1 // never wait (0 in server.Options means the default)
		}
		o.DetectQueueWait = d
	}
	if fc.Intel.Reload != "" {
		d, err := parseDuration(fc.Intel.Reload)
		if err != nil {
			bad("intel.reload", err)
		}
		o.IntelReload = d
	}
	for _, r := range fc.Routes {
		o.Store.Routes = append(o.Store.Routes, store.Route{Field: r.Field, Match: r.Match, Partition: r.Partition})
	}
	applyReceivers(&fc, o, bad)
	if fc.OIDC != nil {
		oc, err := oidcConfig(fc.OIDC)
		if err != nil {
			bad("oidc", err)
		}
		o.OIDC = oc
	}
	for i, lh := range fc.LegalHolds {
		hd := api.Hold{Partition: lh.Partition, Reason: lh.Reason}
		for _, b := range []struct {
			key, v string
			dst    *time.Time
		}{{"from", lh.From, &hd.From}, {"to", lh.To, &hd.To}} {
			if b.v == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, b.v)
			if err != nil {
				bad(fmt.Sprintf("legal_holds[%d].%s", i, b.key), fmt.Errorf("time %q: want RFC 3339", b.v))
			}
			*b.dst = t
		}
		o.LegalHolds = append(o.LegalHolds, hd)
	}
	lc.level, lc.format = fc.Log.Level, fc.Log.Format
	if len(errs) > 0 {
		return fmt.Errorf("config %s:\n  %s", path, strings.Join(errs, "\n  "))
	}
	return nil
}

// parseDuration accepts Go durations plus a day suffix: 30d, 1d12h.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("duration %q: want like 30d, 12h or 15m", s)
		}
		d := time.Duration(days) * 24 * time.Hour
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil {
				return 0, fmt.Errorf("duration %q: want like 30d, 12h or 15m", s)
			}
			d += r
		}
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want like 30d, 12h or 15m", s)
	}
	return d, nil
}

// parseSize accepts byte sizes like 512, 64KB, 64MiB, 1.5GB (KB=1000).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s = strings.TrimSpace(s[:len(s)-len(u.suffix)])
			mult = u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: want like 64MB or 1GiB", s)
	}
	return int64(f * mult), nil
}

// applyReceivers copies the receivers section into the server options.
func applyReceivers(fc *fileConfig, o *server.Options, bad func(string, error)) {
	rc := &fc.Receivers
	sy := &o.Receivers.Syslog
	sy.UDPAddr, sy.TCPAddr, sy.TLSAddr = rc.Syslog.UDP, rc.Syslog.TCP, rc.Syslog.TLS
	sy.CertFile, sy.KeyFile, sy.ClientCAFile = rc.Syslog.Cert, rc.Syslog.Key, rc.Syslog.ClientCA
	sy.Token, sy.Source = rc.Syslog.Token, rc.Syslog.Source
	if rc.Syslog.Timezone != "" {
		loc, err := parse.ParseZone(rc.Syslog.Timezone)
		if err != nil {
			bad("receivers.syslog.timezone", err)
		}
		sy.Location = loc
	}
	if g := rc.GELF; g != nil {
		o.Receivers.GELF = &gelf.Options{UDPAddr: g.UDP, TCPAddr: g.TCP, Token: g.Token}
	}
	if f := rc.Fluent; f != nil {
		o.Receivers.Fluent = &fluent.Options{Addr: f.Addr, Token: f.Token, SharedKey: f.SharedKey}
	}
	if k := rc.Kafka; k != nil {
		o.Receivers.Kafka = &kafka.Options{Brokers: k.Brokers, Topics: k.Topics, Group: k.Group, Format: k.Format, Token: k.Token}
	}
	for _, f := range rc.Files {
		o.Receivers.Files = append(o.Receivers.Files, tail.Options{Paths: f.Paths, Token: f.Token, Source: f.Source, Host: f.Host, Format: f.Format})
	}
	if rc.HTTP != nil && !*rc.HTTP {
		o.Receivers.NoHTTPAll = true
	}
}

// oidcConfig completes the oidc section: the client secret from the
// environment when the file has none, and an HTTP client trusting ca_file.
func oidcConfig(fc *oidcFileConfig) (*auth.OIDCConfig, error) {
	oc := fc.OIDCConfig
	if oc.ClientSecret == "" {
		oc.ClientSecret = os.Getenv("MAMORI_OIDC_CLIENT_SECRET")
	}
	if fc.CAFile != "" {
		pem, err := os.ReadFile(fc.CAFile) // #nosec G304 -- an operator-chosen file from the configuration
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificates", fc.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		oc.HTTPClient = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	if err := oc.Validate(); err != nil {
		return nil, err
	}
	return &oc, nil
}
