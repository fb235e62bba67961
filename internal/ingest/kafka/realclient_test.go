package kafka

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

// These tests produce with real clients, Debian kcat (librdkafka) and npm
// kafkajs, into franz-go's in-process kfake cluster on 127.0.0.1, and
// consume with the receiver into the test sink.

const realCount = 25

// checkReal waits for realCount events whose message starts with mark and
// checks that each arrived once with its key, header, host and time.
func checkReal(t *testing.T, sink *ingesttest.Sink, mark, keyPrefix, origin string) {
	t.Helper()
	wait(t, sink, realCount)
	time.Sleep(200 * time.Millisecond) // give a duplicate time to show up
	seen := map[string]int{}
	for _, ev := range sink.Events() {
		var i int
		if _, err := fmt.Sscanf(ev.Raw, mark+" %d", &i); err != nil {
			t.Errorf("unexpected event %q: %v", ev.Raw, ev.Fields)
			continue
		}
		seen[ev.Raw]++
		for name, want := range map[string]string{
			FieldTopic: "logs", FieldKey: fmt.Sprintf("%s-%d", keyPrefix, i), headerPrefix + "origin": origin,
		} {
			if v, _ := ev.Get(name); v != want {
				t.Errorf("%q: %s = %q, want %q", ev.Raw, name, v, want)
			}
		}
		if ev.Host != "nodehost" || event.FormatTime(ev.Time) != "2026-11-25T10:00:00Z" || hasParseError(&ev) {
			t.Errorf("%q: host %q time %s fields %v", ev.Raw, ev.Host, event.FormatTime(ev.Time), ev.Fields)
		}
	}
	for i := range realCount {
		if c := seen[fmt.Sprintf("%s %d", mark, i)]; c != 1 {
			t.Errorf("record %d arrived %d times, want once", i, c)
		}
	}
}

func TestKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if kcat, err = exec.LookPath("kafkacat"); err != nil {
			t.Skipf("kcat not installed (Debian package kcat): %v", err)
		}
	}
	brokers := cluster(t)
	var in strings.Builder
	for i := range realCount {
		fmt.Fprintf(&in, "kcat-%d\t{\"@timestamp\":\"2026-11-25T10:00:00Z\",\"message\":\"via kcat %d\",\"host\":\"nodehost\"}\n", i, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-P", "-b", strings.Join(brokers, ","), "-t", "logs",
		"-K", "\t", "-H", "origin=kcat", "-X", "acks=all")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	sink := &ingesttest.Sink{}
	consume(t, sink, brokers)
	checkReal(t, sink, "via kcat", "kcat", "kcat")
}

func TestKafkaJS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node: skipped with -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir, err := filepath.Abs("../testdata/npm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "kafkajs")); err != nil {
		t.Skip("kafkajs not installed (run scripts/deps.sh)")
	}
	brokers := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "kafka.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BROKERS="+strings.Join(brokers, ","), "TOPIC=logs",
		"MARK=via kafkajs", fmt.Sprintf("COUNT=%d", realCount))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node kafka.mjs: %v\n%s", err, out)
	}
	sink := &ingesttest.Sink{}
	consume(t, sink, brokers)
	checkReal(t, sink, "via kafkajs", "kafkajs", "kafkajs")
}
