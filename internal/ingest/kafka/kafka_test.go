package kafka

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const token = "kafka-secret"

func cluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func produce(t *testing.T, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range recs {
		r.Topic = "logs"
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func consume(t *testing.T, sink ingest.Sink, brokers []string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, sink, ingesttest.Auth{token: {TokenID: "t1"}}, Options{Brokers: brokers, Topics: []string{"logs"}, Token: token})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once atomic.Bool
	stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

func wait(t *testing.T, s *ingesttest.Sink, n int) []event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	evs, err := s.WaitN(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestConsume(t *testing.T) {
	brokers := cluster(t)
	produce(t, brokers,
		&kgo.Record{Key: []byte("k1"), Value: []byte(`{"@timestamp":"2026-11-25T10:00:00Z","message":"json value","host":"web01"}`),
			Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("edge")}}},
		&kgo.Record{Key: []byte("k1"), Value: []byte("plain text value")},
		&kgo.Record{Key: []byte("k1"), Value: []byte(`{"broken json`)})
	sink := &ingesttest.Sink{}
	stop := consume(t, sink, brokers)
	evs := wait(t, sink, 3)
	byRaw := map[string]event.Event{}
	for _, ev := range evs {
		byRaw[ev.Raw] = ev
	}
	j := byRaw["json value"]
	if j.Host != "web01" || event.FormatTime(j.Time) != "2026-11-25T10:00:00Z" || j.Source != "kafka" {
		t.Errorf("json event = %+v", j)
	}
	for name, want := range map[string]string{FieldTopic: "logs", FieldKey: "k1", headerPrefix + "origin": "edge"} {
		if v, _ := j.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if _, ok := byRaw["plain text value"]; !ok {
		t.Errorf("raw value lost: %+v", evs)
	}
	if bad := byRaw[`{"broken json`]; !hasParseError(&bad) {
		t.Errorf("broken json not kept raw with a parse error: %+v", evs)
	}
	stop()
	// The offsets were committed: a new consumer of the group gets only new records.
	produce(t, brokers, &kgo.Record{Key: []byte("k1"), Value: []byte("after restart")})
	sink2 := &ingesttest.Sink{}
	consume(t, sink2, brokers)
	evs2 := wait(t, sink2, 1)
	time.Sleep(200 * time.Millisecond) // give a wrongly uncommitted batch time to show up
	if evs2 = sink2.Events(); len(evs2) != 1 || evs2[0].Raw != "after restart" {
		t.Errorf("after restart got %d events: %+v", len(evs2), evs2)
	}
}

func TestRefusedBatchIsReadAgain(t *testing.T) {
	brokers := cluster(t)
	produce(t, brokers, &kgo.Record{Key: []byte("k"), Value: []byte("must not be lost")})
	var fails atomic.Int32
	sink := &ingesttest.Sink{Fail: func([]event.Event) error {
		switch fails.Add(1) {
		case 1:
			return errors.New("disk full") // refused: read again after a pause
		case 2:
			return ingest.ErrOverloaded // retried in place
		}
		return nil
	}}
	consume(t, sink, brokers)
	evs := wait(t, sink, 1)
	if evs[0].Raw != "must not be lost" || fails.Load() < 3 {
		t.Errorf("events %+v after %d attempts", evs, fails.Load())
	}
}

func hasParseError(ev *event.Event) bool {
	v, _ := ev.Get(event.FieldParseError)
	return v != ""
}
