package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Backoff bounds for AppendRetry.
const (
	retryMin = 20 * time.Millisecond
	retryMax = 2 * time.Second
)

// AppendRetry appends events to sink, waiting and trying again while the
// sink reports ErrOverloaded, until ctx is done. Stream receivers (syslog,
// GELF, Fluent Forward, Kafka, files) call it from the goroutine that reads
// the input, so an overloaded sink stops the reading: TCP flow control then
// slows the sender down. The error is ctx's when it ended first, or the
// sink's for any other failure.
func AppendRetry(ctx context.Context, sink Sink, events []event.Event) error {
	wait := retryMin
	for {
		err := sink.Append(ctx, events)
		if err == nil || !errors.Is(err, ErrOverloaded) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("append: %w (while overloaded: %v)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(wait*2, retryMax)
	}
}
