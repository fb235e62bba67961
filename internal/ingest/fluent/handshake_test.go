package fluent

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

func TestSharedKeyHandshake(t *testing.T) {
	sink := &ingesttest.Sink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := New(ctx, sink, ingesttest.Auth{token: {TokenID: "t1"}}, Options{Token: token, Addr: "127.0.0.1:0", SharedKey: "s3cret", ServerHostname: "mamori-test"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	connect := func(key string) (net.Conn, bool) {
		t.Helper()
		c, err := net.Dial("tcp", r.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		helo, _, err := readValue(c)
		if err != nil {
			t.Fatal(err)
		}
		var nonce []byte
		for i := 0; i+1 < len(helo.elems[1].elems); i += 2 {
			if k, _ := helo.elems[1].elems[i].str(); k == "nonce" {
				nonce = helo.elems[1].elems[i+1].data
			}
		}
		if len(nonce) != 16 {
			t.Fatalf("HELO without a nonce: %+v", helo)
		}
		sum := sha512.Sum512([]byte("salt" + "client1" + string(nonce) + key))
		ping := mp(nil).arr(6).str("PING").str("client1").str("salt").str(hex.EncodeToString(sum[:])).str("").str("")
		if _, err := c.Write(ping); err != nil {
			t.Fatal(err)
		}
		pong, _, err := readValue(c)
		if err != nil {
			t.Fatal(err)
		}
		want := sha512.Sum512([]byte("salt" + "mamori-test" + string(nonce) + key))
		if d, _ := pong.elems[4].str(); pong.elems[1].b && d != hex.EncodeToString(want[:]) {
			t.Errorf("PONG digest does not prove the server knows the key")
		}
		return c, pong.elems[1].b
	}
	if c, ok := connect("wrong"); ok {
		t.Errorf("a wrong shared key was accepted")
		c.Close()
	} else {
		c.Close()
	}
	c, ok := connect("s3cret")
	if !ok {
		t.Fatal("the right shared key was refused")
	}
	defer c.Close()
	c.Write(record(mp(nil).arr(4).str("secure").uint32(1764064800), "after handshake").mapN(1).str("chunk").str("k1"))
	readAck(t, c, "k1")
	if evs := sink.Events(); len(evs) != 1 || evs[0].Raw != "after handshake" {
		t.Errorf("events = %+v", evs)
	}
}
