package store

import (
	"os"
	"testing"
)

// TestBatchMeasure encodes (batchSize, encodeBatch) and decodes
// (decodeBatch) the bench records in batches of 1,000, MAMORI_WRITE_ITERS
// times, for instruction counts under valgrind (run with two counts and
// subtract, as TestWriteMeasure): MAMORI_BATCH_MEASURE=encode or decode.
func TestBatchMeasure(t *testing.T) {
	mode := os.Getenv("MAMORI_BATCH_MEASURE")
	if mode == "" {
		t.Skip("MAMORI_BATCH_MEASURE unset (encode or decode)")
	}
	iters := atoiOr(os.Getenv("MAMORI_WRITE_ITERS"), 1)
	evs := measureEvents(t)
	parts := make([]string, len(evs))
	for i := range parts {
		parts[i] = "main"
	}
	const per = 1000
	var recs []string
	for lo := 0; lo < len(evs); lo += per {
		hi := min(lo+per, len(evs))
		b, _ := encodeBatch(evs[lo:hi], parts[lo:hi], batchSize(evs[lo:hi], parts[lo:hi]))
		recs = append(recs, string(b))
	}
	n := 0
	for i := 0; i < iters; i++ {
		for k, lo := 0, 0; lo < len(evs); k, lo = k+1, lo+per {
			hi := min(lo+per, len(evs))
			switch mode {
			case "encode":
				b, _ := encodeBatch(evs[lo:hi], parts[lo:hi], batchSize(evs[lo:hi], parts[lo:hi]))
				n += len(b)
			case "decode":
				es, err := decodeBatch(recs[k])
				if err != nil {
					t.Fatal(err)
				}
				n += len(es)
			default:
				t.Fatalf("MAMORI_BATCH_MEASURE=%q", mode)
			}
		}
	}
	t.Logf("%s: %d", mode, n)
}
