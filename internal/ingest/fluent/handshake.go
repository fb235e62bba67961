package fluent

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"
)

// maxHandshakeBytes bounds a PING message.
const maxHandshakeBytes = 64 << 10

// handshake runs the server side of the forward protocol's shared-key
// handshake: HELO (with a nonce), the client's PING (with a digest of the
// shared key), PONG. It returns the bytes read after the PING, which belong
// to the first message.
func (r *Receiver) handshake(c net.Conn) ([]byte, error) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{}) //nolint:errcheck // clearing a deadline on a live conn
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	var helo []byte
	helo = append(helo, 0x92)
	helo = appendMsgpackString(helo, "HELO")
	helo = append(helo, 0x83)
	helo = appendMsgpackString(helo, "nonce")
	helo = append(helo, 0xc4, byte(len(nonce)))
	helo = append(helo, nonce...)
	helo = appendMsgpackString(helo, "auth")
	helo = appendMsgpackString(helo, "") // no user authentication: the shared key is the secret
	helo = appendMsgpackString(helo, "keepalive")
	helo = append(helo, 0xc3)
	if _, err := c.Write(helo); err != nil {
		return nil, fmt.Errorf("write HELO: %w", err)
	}
	ping, rest, err := readValue(c)
	if err != nil {
		return nil, fmt.Errorf("read PING: %w", err)
	}
	hostname, salt, ok := r.checkPing(ping, nonce)
	reason := ""
	if !ok {
		reason = "shared key mismatch"
	}
	server := r.opts.ServerHostname
	sum := sha512.Sum512([]byte(salt + server + string(nonce) + r.opts.SharedKey))
	var pong []byte
	pong = append(pong, 0x95)
	pong = appendMsgpackString(pong, "PONG")
	if ok {
		pong = append(pong, 0xc3)
	} else {
		pong = append(pong, 0xc2)
	}
	pong = appendMsgpackString(pong, reason)
	pong = appendMsgpackString(pong, server)
	pong = appendMsgpackString(pong, hex.EncodeToString(sum[:]))
	if _, err := c.Write(pong); err != nil {
		return nil, fmt.Errorf("write PONG: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("handshake with %q: %s", hostname, reason)
	}
	return rest, nil
}

// checkPing verifies ["PING", hostname, salt, sha512_hex(salt+hostname+nonce+key), user, pass].
func (r *Receiver) checkPing(v value, nonce []byte) (hostname, salt string, ok bool) {
	if v.kind != kArray || len(v.elems) < 4 {
		return "", "", false
	}
	if s, _ := v.elems[0].str(); s != "PING" {
		return "", "", false
	}
	hostname, _ = v.elems[1].str()
	salt, _ = v.elems[2].str()
	digest, _ := v.elems[3].str()
	sum := sha512.Sum512([]byte(salt + hostname + string(nonce) + r.opts.SharedKey))
	want := hex.EncodeToString(sum[:])
	return hostname, salt, subtle.ConstantTimeCompare([]byte(want), []byte(digest)) == 1
}

// readValue reads one msgpack value from c and returns it with the bytes
// read after it.
func readValue(c net.Conn) (value, []byte, error) {
	buf := make([]byte, 0, 4096)
	for {
		d := decoder{b: buf}
		v, err := d.value(0)
		if err == nil {
			// The value points into buf; keep buf alive by copying the rest.
			return v, append([]byte(nil), buf[d.off:]...), nil
		}
		if !errors.Is(err, errShort) {
			return value{}, nil, err
		}
		if len(buf) >= maxHandshakeBytes {
			return value{}, nil, fmt.Errorf("%w: handshake message over %d bytes", errInvalid, maxHandshakeBytes)
		}
		if len(buf) == cap(buf) {
			buf = append(make([]byte, 0, 2*cap(buf)), buf...)
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			return value{}, nil, err
		}
	}
}
