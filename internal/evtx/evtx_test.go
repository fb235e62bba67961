package evtx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
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
