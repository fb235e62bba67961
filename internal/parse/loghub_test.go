package parse

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestLoghubAuto runs Auto over the Loghub-2k corpora (plain-text logs of
// eight systems): no line may fail, and the ones with a syslog header must
// come out as syslog.
func TestLoghubAuto(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/testdata/loghub/dev/*/*_2k.log")
	if len(files) == 0 {
		t.Skip("shared Loghub test data absent")
	}
	for _, path := range files {
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n, timed, fields := 0, 0, 0
		for sc.Scan() {
			n++
			var ev event.Event
			if err := Auto.Parse(sc.Bytes(), &ev); err != nil {
				t.Errorf("%s:%d: %v", filepath.Base(path), n, err)
			}
			if ev.Time != 0 {
				timed++
			}
			if len(ev.Fields) > 0 {
				fields++
			}
		}
		fh.Close()
		t.Logf("%s: %d lines, %d with a time, %d with fields", filepath.Base(path), n, timed, fields)
		if filepath.Base(path) == "Linux_2k.log" && fields != n {
			t.Errorf("Linux_2k.log: %d of %d lines parsed as syslog", fields, n)
		}
	}
}
