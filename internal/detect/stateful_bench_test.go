package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// BenchmarkStatefulObserve runs the content pack's stateful rules over a
// mix of Windows logon, SSH, network and wallet events.
func BenchmarkStatefulObserve(b *testing.B) {
	rules, _, errs := LoadStatefulDir("../../content/rules")
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	s, err := OpenStateful(rules, StatefulOptions{})
	if err != nil {
		b.Fatal(err)
	}
	mk := []func(i int) event.Event{
		func(i int) event.Event {
			return ev(time.Duration(i)*time.Second, "host=DC01", "event.code=4624", "winlog.logon.type=3", fmt.Sprintf("source.ip=10.20.1.%d", i%200), fmt.Sprintf("user.name=u%d", i%300))
		},
		func(i int) event.Event {
			return ev(time.Duration(i)*time.Second, "host=ws1", "event.code=3", "destination.ip=198.51.100.7", "process.executable=C:\\x.exe")
		},
		func(i int) event.Event {
			return ev(time.Duration(i)*time.Second, "host=bastion", "event.action=ssh_login", "event.outcome=success", "ssh.method=publickey", fmt.Sprintf("user.name=u%d", i%30), "source.ip=10.30.0.5")
		},
		func(i int) event.Event {
			// An approval then its signing: normal flow, nothing fires.
			action := "withdrawal_approved"
			if i%8 == 7 {
				action = "hot_wallet_sign"
			}
			return ev(time.Duration(i)*time.Second, "host=signer", "event.action="+action, fmt.Sprintf("withdrawal_id=w%d", i/8), "amount=12.5", "asset=XEM", fmt.Sprintf("dest_address=N%d", i%1000))
		},
	}
	evs := make([]event.Event, 4096)
	for i := range evs {
		evs[i] = mk[i%len(mk)](i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := evs[i%len(evs)]
		e.Time += int64(i/len(evs)) * int64(len(evs)) * int64(time.Second)
		s.Observe(&e, nil)
	}
}

// BenchmarkStatefulScenario runs the content pack's stateful rules over
// the scenario's events (SIGMA_SCENARIO, else the Sigma dev events), with
// and without the rule index; cpu-ns/event is the process CPU.
func BenchmarkStatefulScenario(b *testing.B) {
	var evs []event.Event
	for _, body := range liveBodies(b) {
		evs = append(evs, body.events(b, func() int64 { return 1 })...)
	}
	rules, _, errs := LoadStatefulDir("../../content/rules")
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	for _, index := range []bool{true, false} {
		b.Run(fmt.Sprintf("index=%v", index), func(b *testing.B) {
			s, err := OpenStateful(rules, StatefulOptions{})
			if err != nil {
				b.Fatal(err)
			}
			s.noIndex = !index
			c0 := processCPU()
			n := 0
			for b.Loop() {
				s.Observe(&evs[n%len(evs)], nil)
				n++
			}
			b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(n), "cpu-ns/event")
		})
	}
}
