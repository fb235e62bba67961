package fluent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

const token = "fluent-secret"

// A small msgpack encoder for the tests.
type mp []byte

func (m mp) str(s string) mp { return mp(appendMsgpackString(m, s)) }
func (m mp) arr(n int) mp    { return append(m, 0x90|byte(n)) }
func (m mp) mapN(n int) mp   { return append(m, 0x80|byte(n)) }
func (m mp) uint32(v uint32) mp {
	return append(m, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func (m mp) eventTime(sec, nsec uint32) mp {
	m = append(m, 0xd7, 0x00)
	m = binary.BigEndian.AppendUint32(m, sec)
	return binary.BigEndian.AppendUint32(m, nsec)
}
func (m mp) bin(b []byte) mp {
	m = append(m, 0xc6)
	m = binary.BigEndian.AppendUint32(m, uint32(len(b)))
	return append(m, b...)
}

func record(m mp, msg string) mp {
	return m.mapN(3).str("log").str(msg).str("host").str("web01").str("kubernetes").mapN(1).str("pod").str("p-1")
}

func start(t *testing.T, sink *ingesttest.Sink) *Receiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := New(ctx, sink, ingesttest.Auth{token: {TokenID: "t1"}}, Options{Token: token, Addr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return r
}

func readAck(t *testing.T, c net.Conn, chunk string) {
	t.Helper()
	want := mp(nil).mapN(1).str("ack").str(chunk)
	got := make([]byte, len(want))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ack = %x, %v; want %x", got, err, []byte(want))
	}
}

func TestModes(t *testing.T) {
	sink := &ingesttest.Sink{}
	r := start(t, sink)
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Message mode with EventTime and a chunk to acknowledge.
	m := mp(nil).arr(4).str("app.access").eventTime(1764064800, 250)
	m = record(m, "message mode")
	m = m.mapN(1).str("chunk").str("c1")
	// Forward mode with integer time.
	f := mp(nil).arr(3).str("app.fwd").arr(2)
	f = record(f.arr(2).uint32(1764064801), "forward 1")
	f = record(f.arr(2).uint32(1764064802), "forward 2")
	f = f.mapN(1).str("chunk").str("c2")
	// CompressedPackedForward.
	var packed mp
	packed = record(packed.arr(2).eventTime(1764064803, 0), "packed 1")
	packed = record(packed.arr(2).eventTime(1764064804, 0), "packed 2")
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(packed)
	zw.Close()
	p := mp(nil).arr(3).str("app.packed").bin(z.Bytes()).mapN(2).str("chunk").str("c3").str("compressed").str("gzip")
	all := append(append(append([]byte{}, m...), f...), p...)
	// Send in two pieces cut inside a message.
	c.Write(all[:len(m)+5])
	readAck(t, c, "c1")
	c.Write(all[len(m)+5:])
	readAck(t, c, "c2")
	readAck(t, c, "c3")
	evs := sink.Events()
	if len(evs) != 5 {
		t.Fatalf("got %d events: %+v", len(evs), evs)
	}
	e0 := evs[0]
	if e0.Raw != "message mode" || e0.Host != "web01" || e0.Time != 1764064800*1e9+250 || e0.Source != "fluent" {
		t.Errorf("event 0 = %+v", e0)
	}
	for name, want := range map[string]string{"kubernetes.pod": "p-1", FieldTag: "app.access", "host": "web01"} {
		if v, _ := e0.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if evs[2].Raw != "forward 2" || event.FormatTime(evs[4].Time) != "2025-11-25T10:00:04Z" || evs[4].Raw != "packed 2" {
		t.Errorf("events = %+v", evs)
	}
}

func TestMalformedClosesAndKeeps(t *testing.T) {
	sink := &ingesttest.Sink{}
	r := start(t, sink)
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	good := record(mp(nil).arr(3).str("t").uint32(1), "kept")
	bad := mp(nil).str("not an array")
	c.Write(append(append([]byte{}, good...), bad...))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("connection still open after a malformed message")
	}
	if evs := sink.Events(); len(evs) != 1 || evs[0].Raw != "kept" {
		t.Errorf("events = %+v, want the good message kept", evs)
	}
}

func FuzzForward(f *testing.F) {
	m := record(mp(nil).arr(4).str("a").eventTime(1, 2), "x").mapN(1).str("chunk").str("c")
	f.Add([]byte(m), uint16(5))
	f.Add([]byte(record(mp(nil).arr(3).str("t").arr(1).arr(2).uint32(1), "y")), uint16(9))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		for _, in := range [][]byte{b, b[:int(cut)%(len(b)+1)]} {
			d := decoder{b: in}
			for d.off < len(in) {
				v, err := d.value(0)
				if err != nil {
					if err.Error() == "" {
						t.Fatal("empty error")
					}
					break
				}
				evs, _, err := decodeMessage(v, 1, 1<<16)
				if err != nil && err.Error() == "" {
					t.Fatal("empty error")
				}
				for _, ev := range evs {
					if ev.Time == 0 {
						t.Fatalf("event without time: %+v", ev)
					}
				}
			}
		}
	})
}
