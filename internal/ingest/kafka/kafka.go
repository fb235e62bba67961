package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/otlp"
	"github.com/mamori/mamori/internal/parse"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Record metadata fields.
const (
	FieldTopic     = "kafka.topic"
	FieldPartition = "kafka.partition"
	FieldOffset    = "kafka.offset"
	FieldKey       = "kafka.key"
	headerPrefix   = "kafka.header."
)

// Value formats.
const (
	FormatAuto = ""     // JSON when the value starts with '{', else raw
	FormatJSON = "json" // every value is a JSON document
	FormatRaw  = "raw"  // every value is one line of text
	FormatOTLP = "otlp" // every value is an OTLP ExportLogsServiceRequest (protobuf)
)

// Options configures a Consumer.
type Options struct {
	// Brokers are the seed brokers (host:port); required.
	Brokers []string
	// Topics are the topics to read; required.
	Topics []string
	// Group is the consumer group; default "mamori".
	Group string
	// Format is how values are decoded (FormatAuto, FormatJSON, FormatRaw,
	// FormatOTLP).
	Format string
	// StartAtEnd makes a group without committed offsets start at the end
	// of the topics instead of their start.
	StartAtEnd bool
	// TLS, when set, connects with TLS.
	TLS *tls.Config
	// SASLMechanism is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512",
	// with SASLUser and SASLPassword.
	SASLMechanism, SASLUser, SASLPassword string

	// Token is the ingest credential of this source, checked with the
	// Authenticator at start and every 30s.
	Token string
	// Source is the source of the events; default "kafka". A source-bound
	// token overrides it.
	Source string
	// Category is the category of the events.
	Category string
	// MaxBatch is the most records per poll and Sink.Append; default 1000.
	MaxBatch int
	// Metrics receives the counts (receiver "kafka"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
}

// Validate reports every problem of the options.
func (o Options) Validate() error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers"))
	}
	if len(o.Topics) == 0 {
		errs = append(errs, errors.New("kafka: no topics"))
	}
	switch o.Format {
	case FormatAuto, FormatJSON, FormatRaw, FormatOTLP:
	default:
		errs = append(errs, fmt.Errorf("kafka format %q: want json, raw, otlp or empty", o.Format))
	}
	switch strings.ToUpper(o.SASLMechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		errs = append(errs, fmt.Errorf("kafka SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", o.SASLMechanism))
	}
	return errors.Join(errs...)
}

// Consumer reads Kafka topics into the Sink. It implements ingest.Listener.
type Consumer struct {
	opts Options
	sink ingest.Sink
	auth ingest.Authenticator
	log  *slog.Logger
}

// New checks the options and the token. The connection is made by Run.
func New(ctx context.Context, sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Consumer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if sink == nil || auth == nil {
		return nil, errors.New("kafka: a sink and an authenticator are required")
	}
	if opts.Group == "" {
		opts.Group = "mamori"
	}
	if opts.Source == "" {
		opts.Source = "kafka"
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := auth.AuthenticateIngest(ctx, opts.Token); err != nil {
		return nil, fmt.Errorf("kafka token: %w", err)
	}
	return &Consumer{opts: opts, sink: sink, auth: auth, log: opts.Logger}, nil
}

// Name implements ingest.Listener.
func (c *Consumer) Name() string { return "kafka" }

func (c *Consumer) clientOptions() []kgo.Opt {
	o := c.opts
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeTopics(o.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(), // offsets are committed before partitions move
	}
	if !o.StartAtEnd {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS))
	}
	switch strings.ToUpper(o.SASLMechanism) {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: o.SASLUser, Pass: o.SASLPassword}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: o.SASLUser, Pass: o.SASLPassword}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: o.SASLUser, Pass: o.SASLPassword}.AsSha512Mechanism()))
	}
	return opts
}

// Run consumes until ctx is cancelled. A batch is committed only after the
// Sink returned. When the Sink refuses a batch, the client is closed and
// made again after a pause, so reading resumes at the last commit and
// nothing is skipped; a batch in flight at shutdown stays uncommitted.
func (c *Consumer) Run(ctx context.Context) error {
	backoff := time.Second
	for {
		delivered, err := c.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ce clientError
			if errors.As(err, &ce) {
				return err // misconfigured: it cannot serve at all
			}
			c.log.Warn("kafka batch refused: reading again from the last commit", "err", err, "retry_in", backoff)
		}
		if delivered {
			backoff = time.Second
		}
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, time.Minute)
	}
}

type clientError struct{ err error }

func (e clientError) Error() string { return "kafka client: " + e.err.Error() }
func (e clientError) Unwrap() error { return e.err }

// consume runs one client until ctx ends or a batch is refused. It
// reports whether any batch was delivered.
func (c *Consumer) consume(ctx context.Context) (delivered bool, err error) {
	cl, err := kgo.NewClient(c.clientOptions()...)
	if err != nil {
		return false, clientError{err}
	}
	defer cl.Close()
	c.log.Info("kafka consuming", "topics", c.opts.Topics, "group", c.opts.Group)
	var principal ingest.Principal
	var authAt time.Time
	for {
		if authAt.IsZero() || time.Since(authAt) > 30*time.Second {
			p, err := c.auth.AuthenticateIngest(ctx, c.opts.Token)
			if err != nil {
				return delivered, fmt.Errorf("token: %w", err)
			}
			principal, authAt = p, time.Now()
		}
		fetches := cl.PollRecords(ctx, c.opts.MaxBatch)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return delivered, nil
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("kafka fetch", "topic", topic, "partition", partition, "err", err)
			}
		})
		if records := fetches.Records(); len(records) > 0 {
			if err := c.deliver(ctx, cl, records, principal); err != nil {
				cl.AllowRebalance()
				return delivered, err
			}
			delivered = true
		}
		cl.AllowRebalance()
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// deliver appends the records' events and then commits their offsets.
func (c *Consumer) deliver(ctx context.Context, cl *kgo.Client, records []*kgo.Record, p ingest.Principal) error {
	source := c.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	received := time.Now().UnixNano()
	var events []event.Event
	n := 0
	for _, r := range records {
		n += len(r.Value)
		events = c.decode(events, r, received)
	}
	for i := range events {
		events[i].Source, events[i].Category = source, c.opts.Category
	}
	if len(events) > 0 {
		if err := ingest.AppendRetry(ctx, c.sink, events); err != nil {
			c.opts.Metrics.Add("kafka", source, 0, len(events), n)
			return err
		}
	}
	c.opts.Metrics.Add("kafka", source, len(events), 0, n)
	// Commit even when shutdown began after the append: the events are
	// durable, so their offsets should be too.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := cl.CommitRecords(cctx, records...); err != nil {
		// The events are durable; a failed commit only means they may be
		// read again after a restart.
		c.log.Warn("kafka commit", "err", err)
	}
	return nil
}

// decode appends the events of one record.
func (c *Consumer) decode(dst []event.Event, r *kgo.Record, received int64) []event.Event {
	meta := recordFields(r)
	ts := r.Timestamp.UnixNano()
	if r.Timestamp.IsZero() || ts <= 0 {
		ts = received
	}
	format := c.opts.Format
	if format == FormatAuto {
		format = FormatRaw
		if v := strings.TrimLeft(string(r.Value[:min(len(r.Value), 16)]), " \t\r\n"); strings.HasPrefix(v, "{") {
			format = FormatJSON
		}
	}
	switch format {
	case FormatOTLP:
		evs, err := otlp.DecodeLogs(r.Value, false, received)
		for i := range evs {
			evs[i].Fields = append(evs[i].Fields, meta...)
		}
		dst = append(dst, evs...)
		if err != nil {
			dst = append(dst, rawEvent(r.Value, ts, received, meta, err))
		}
		return dst
	case FormatJSON:
		ev := event.Event{Received: received}
		// Decoded and normalized as the native API does; the host is
		// Kafka's choice below.
		err := ingest.DecodeJSON(r.Value, &ev, parse.JSONEventOptions{})
		if err != nil && !errors.Is(err, parse.ErrNoTime) {
			return append(dst, rawEvent(r.Value, ts, received, meta, err))
		}
		if ev.Time == 0 {
			ev.Time = ts
		}
		if ev.Host == "" {
			ev.Host = firstField(ev.Fields, "host.name", "host", "hostname")
		}
		ev.Fields = append(ev.Fields, meta...)
		return append(dst, ev)
	}
	// A text value is parsed as the native API parses a text line
	// (parse.Auto: syslog, CEF, LEEF, access logs...); one that does not
	// parse is kept raw with _parse_error.
	ev := event.Event{Received: received}
	ingest.ParseText(nil, r.Value, &ev, parse.TimeOptions{})
	if ev.Time <= 0 {
		ev.Time = ts
	}
	ev.Fields = append(ev.Fields, meta...)
	return append(dst, ev)
}

func rawEvent(v []byte, ts, received int64, meta []event.Field, err error) event.Event {
	fields := append([]event.Field{{Name: event.FieldParseError, Value: err.Error()}}, meta...)
	return event.Event{Time: ts, Received: received, Raw: string(v), Fields: fields}
}

func recordFields(r *kgo.Record) []event.Field {
	f := make([]event.Field, 0, 4+len(r.Headers))
	f = append(f,
		event.Field{Name: FieldTopic, Value: r.Topic},
		event.Field{Name: FieldPartition, Value: strconv.Itoa(int(r.Partition))},
		event.Field{Name: FieldOffset, Value: strconv.FormatInt(r.Offset, 10)})
	if len(r.Key) > 0 && utf8.Valid(r.Key) {
		f = append(f, event.Field{Name: FieldKey, Value: string(r.Key)})
	}
	for _, h := range r.Headers {
		if utf8.Valid(h.Value) {
			f = append(f, event.Field{Name: headerPrefix + h.Key, Value: string(h.Value)})
		}
	}
	return f[:len(f):len(f)]
}

func firstField(fields []event.Field, names ...string) string {
	for _, n := range names {
		for _, f := range fields {
			if f.Name == n {
				return f.Value
			}
		}
	}
	return ""
}
