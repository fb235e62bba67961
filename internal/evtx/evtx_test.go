package evtx

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

const devEVTX = "../../../shared/testdata/sigma/dev/evtx"

func devFiles(t testing.TB) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(devEVTX, "*.evtx"))
	if len(files) == 0 {
		t.Skipf("no EVTX samples in %s (the shared test data is absent)", devEVTX)
	}
	return files
}

func readAll(t testing.TB, path string) ([]Record, []error) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer r.Close()
	var recs []Record
	var errs []error
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, errs
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Next: %v", err)
			}
			errs = append(errs, err)
			continue
		}
		recs = append(recs, rec)
	}
}

func TestDump(t *testing.T) {
	if os.Getenv("EVTX_DUMP") == "" {
		t.Skip("set EVTX_DUMP=file to print a file's records")
	}
	recs, errs := readAll(t, os.Getenv("EVTX_DUMP"))
	for _, r := range recs {
		t.Logf("record %d time %d", r.RecordID, r.Event.Time)
		for _, f := range r.Event.Fields {
			t.Logf("  %s = %q", f.Name, f.Value)
		}
	}
	for _, e := range errs {
		t.Logf("error: %v", e)
	}
}

// TestPooledScratch reads the samples from several goroutines at once, and
// abandons readers half way, and checks every record against a sequential
// reading: records never share the pooled buffers of a Reader.
func TestPooledScratch(t *testing.T) {
	files := devFiles(t)
	want := make([][]Record, len(files))
	for i, f := range files {
		want[i], _ = readAll(t, f)
	}
	var wg sync.WaitGroup
	got := make([][][]Record, 3)
	for g := range got {
		got[g] = make([][]Record, len(files))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, f := range files {
				if data, err := os.ReadFile(f); err == nil { // a reader abandoned after one record
					if half, err := NewReader(bytes.NewReader(data), int64(len(data))); err == nil {
						half.Next()
					}
				}
				r, err := Open(f)
				if err != nil {
					t.Error(err)
					return
				}
				for {
					rec, err := r.Next()
					if err != nil {
						break
					}
					got[g][i] = append(got[g][i], rec)
				}
				r.Close()
			}
		}()
	}
	wg.Wait()
	for g := range got {
		for i := range files {
			if !reflect.DeepEqual(got[g][i], want[i]) {
				t.Fatalf("goroutine %d, %s: records differ from the sequential reading", g, files[i])
			}
		}
	}
}
