package detect

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mamori/mamori/internal/event"
)

// TestDetectParallelMatchSameAsSerial: a large batch (Sigma matching
// spread over goroutines) raises the same signals, in the same order, as
// the same events one at a time. Run with -race.
func TestDetectParallelMatchSameAsSerial(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2 to take the parallel path")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yml"), []byte(`title: Failed logon
id: 5b0c8a4e-0000-4000-8000-000000000011
name: failed_logon_p
level: medium
logsource: {product: test}
detection:
  sel: {outcome: failure}
  condition: sel
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t.yml"), []byte(thresholdRule), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func() *Detector {
		d, err := Open(Options{RuleDirs: []string{dir}, SuppressFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	evs := make([]event.Event, 4*parallelMatchMin+7)
	for i := range evs {
		outcome := "success"
		if i%3 == 0 {
			outcome = "failure"
		}
		evs[i] = ev(time.Duration(i)*time.Second, "outcome="+outcome, "event.outcome="+outcome, fmt.Sprintf("user.name=u%d", i%5))
	}
	evs[10].Partition = SignalsPartition // never evaluated
	batch := open().Detect(evs)
	serial := open()
	var one []Signal
	for i := range evs {
		one = append(one, serial.Detect(evs[i:i+1])...)
	}
	if len(batch) == 0 {
		t.Fatal("no signal raised")
	}
	if diff := cmp.Diff(one, batch); diff != "" {
		t.Errorf("batch vs one at a time (-serial +batch):\n%s", diff)
	}
}
