package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// BenchmarkDetectBatch runs the content pack (Sigma and stateful rules)
// over batches of 1,024 Sysmon-like process events. Compare -cpu 1,2: the
// Sigma matching of a batch spreads over the cores, stateful rules stay
// serial. cpu-ns/event is the process CPU (the machine is shared).
func BenchmarkDetectBatch(b *testing.B) {
	d, err := Open(Options{RuleDirs: []string{"../../content/rules"}})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]event.Event, 1024)
	for i := range evs {
		evs[i] = ev(time.Duration(i)*time.Second, fmt.Sprintf("host=ws-%d", i%40), "winlog.channel=Microsoft-Windows-Sysmon/Operational",
			"winlog.event_id=1", `winlog.event_data.Image=C:\Windows\System32\cmd.exe`, `winlog.event_data.ParentImage=C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
			fmt.Sprintf("winlog.event_data.CommandLine=cmd.exe /c echo %d", i), fmt.Sprintf("user.name=u%d", i%50))
	}
	b.ReportAllocs()
	c0 := processCPU()
	for b.Loop() {
		d.Detect(evs)
	}
	b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N*len(evs)), "cpu-ns/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "wall-ns/event")
}
