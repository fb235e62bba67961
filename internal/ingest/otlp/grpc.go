package otlp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
)

// GRPCPath is the gRPC method of OTLP logs export. gRPC runs over HTTP/2:
// on a plain-text listener the server must accept unencrypted HTTP/2
// (http.Server.Protocols with SetUnencryptedHTTP2), on TLS it is the
// default.
const GRPCPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

// gRPC status codes used here.
const (
	grpcOK               = 0
	grpcInvalidArgument  = 3
	grpcResourceExhaust  = 8
	grpcInternal         = 13
	grpcUnavailable      = 14
	grpcUnauthenticated  = 16
	grpcUnimplemented    = 12
	grpcFrameHeaderBytes = 5
)

// grpcExport serves a unary gRPC call: one length-prefixed message in, one
// (empty) ExportLogsServiceResponse out, and the status in the trailers.
func (r *Receiver) grpcExport(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/grpc")
	if req.ProtoMajor != 2 {
		r.grpcStatus(w, grpcUnimplemented, "gRPC needs HTTP/2")
		return
	}
	p, err := httprecv.Authenticate(req.Context(), r.auth, httprecv.Credential(req))
	if err != nil {
		r.grpcStatus(w, grpcUnauthenticated, err.Error())
		return
	}
	msg, err := r.grpcMessage(w, req)
	if err != nil {
		code := grpcInvalidArgument
		if errors.Is(err, ingest.ErrTooLarge) {
			code = grpcResourceExhaust
		}
		r.grpcStatus(w, code, err.Error())
		return
	}
	source := r.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	received := r.opts.Now().UnixNano()
	events, derr := decodeProto(msg, received)
	r.label(events, source)
	ms := metricSource(source)
	if len(events) > 0 {
		ms = events[0].Source
		if err := r.sink.Append(req.Context(), events); err != nil {
			r.opts.Metrics.Add("otlp", ms, 0, len(events), len(msg))
			code := grpcInternal
			if st := httprecv.Status(err); st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable {
				code = grpcUnavailable // retried by exporters
			}
			r.grpcStatus(w, code, err.Error())
			return
		}
		r.opts.Metrics.Add("otlp", ms, len(events), 0, len(msg))
	}
	if derr != nil {
		r.opts.Metrics.Add("otlp", ms, 0, 1, 0)
		r.grpcStatus(w, grpcInvalidArgument, fmt.Sprintf("%v (the %d records before it were kept)", derr, len(events)))
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte{0, 0, 0, 0, 0}) // an empty response message; a failed write means the client left
	r.grpcStatus(w, grpcOK, "")
}

// grpcMessage reads the one length-prefixed message of a unary call.
func (r *Receiver) grpcMessage(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	lim := r.opts.Limits
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = 64 << 20
	}
	if lim.MaxDecodedBytes <= 0 {
		lim.MaxDecodedBytes = 8 * lim.MaxBytes
	}
	body := http.MaxBytesReader(w, req.Body, lim.MaxBytes+grpcFrameHeaderBytes)
	var hdr [grpcFrameHeaderBytes]byte
	if _, err := io.ReadFull(body, hdr[:]); err != nil {
		return nil, fmt.Errorf("read gRPC frame header: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if int64(n) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: gRPC message of %d bytes, the limit is %d", ingest.ErrTooLarge, n, lim.MaxBytes)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(body, msg); err != nil {
		return nil, fmt.Errorf("read gRPC message: %w", err)
	}
	if hdr[0] == 0 {
		return msg, nil
	}
	if enc := req.Header.Get("Grpc-Encoding"); enc != "gzip" {
		return nil, fmt.Errorf("unsupported grpc-encoding %q (want gzip or none)", enc)
	}
	zr, err := gzip.NewReader(bytes.NewReader(msg))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, lim.MaxDecodedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if int64(len(out)) > lim.MaxDecodedBytes {
		return nil, fmt.Errorf("%w: more than %d bytes once decompressed", ingest.ErrTooLarge, lim.MaxDecodedBytes)
	}
	return out, nil
}

// grpcStatus sends the status in the trailers (after the headers, and
// after the response message when there is one).
func (r *Receiver) grpcStatus(w http.ResponseWriter, code int, msg string) {
	if code == grpcInternal {
		r.log.Error("otlp grpc export failed", "err", msg)
	}
	if code != grpcOK {
		if code == grpcUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(httprecv.RetryAfterSeconds))
		}
		w.WriteHeader(http.StatusOK) // gRPC errors travel in grpc-status
	}
	w.Header().Set(http.TrailerPrefix+"Grpc-Status", strconv.Itoa(code))
	if msg != "" {
		w.Header().Set(http.TrailerPrefix+"Grpc-Message", percentEncode(msg))
	}
}

// percentEncode encodes a grpc-message as the gRPC spec wants.
func percentEncode(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '%' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
	}
	return string(b)
}
