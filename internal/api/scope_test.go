package api

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/alert"
	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

func TestApplyScopeHidesSignalsFromRestricted(t *testing.T) {
	f := func(name string, sc auth.Scope, wantGuard bool) {
		t.Helper()
		q, err := applyScope(auth.Principal{Scope: sc}, query.MustParse("x"), &query.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(q.String(), "_partition="+detect.SignalsPartition); got != wantGuard {
			t.Errorf("%s: scoped query %q, want signals guard %v", name, q, wantGuard)
		}
	}
	f("unrestricted", auth.Scope{}, false)
	f("partitions", auth.Scope{Partitions: []string{"main", detect.SignalsPartition}}, true)
	f("role filter", auth.Scope{Filters: []string{"NOT _source=wallet-signer"}}, true)
}

// mixedIncident has one signal from the wallet signer and one from a web
// server, linked by the same user.
func mixedIncident() detect.Incident {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	user := detect.Entity{Type: detect.EntityUser, Value: "walletop"}
	signer := detect.Entity{Type: detect.EntityHost, Value: "signer-01"}
	web := detect.Entity{Type: detect.EntityHost, Value: "web-01"}
	return detect.Incident{
		ID: "INC-1", Title: "credential access on signer-01 / walletop: 2 signals, 2 tactics", Severity: "critical",
		FirstSeen: t0, LastSeen: t0.Add(time.Minute),
		Entities: []detect.Entity{signer, user, web}, Tactics: []string{"discovery", "credential_access"},
		Sources: []string{"wallet-signer", "winlogbeat"},
		Signals: []detect.SignalRef{
			{ID: "s1", Title: "Mimikatz", Time: t0, Entities: []detect.Entity{signer, user}, Tactics: []string{"credential_access"},
				EventSource: "wallet-signer", EventHost: "signer-01", EventRaw: "mimikatz.exe", EventPartition: "wallet"},
			{ID: "s2", Title: "Whoami", Time: t0.Add(time.Minute), Entities: []detect.Entity{web, user}, Tactics: []string{"discovery"},
				EventSource: "winlogbeat", EventHost: "web-01", EventRaw: "whoami.exe", EventPartition: "main"},
		},
	}
}

func TestSignalScopeIncident(t *testing.T) {
	f := func(name string, sc auth.Scope, wantSignals int, wantOK bool) {
		t.Helper()
		vis, err := newSignalScope(auth.Principal{Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		full := mixedIncident()
		inc, ok := vis.incident(full)
		if ok != wantOK || (ok && len(inc.Signals) != wantSignals) {
			t.Fatalf("%s: ok %v, %d signals; want %v, %d", name, ok, len(inc.Signals), wantOK, wantSignals)
		}
		if !ok || wantSignals == len(full.Signals) {
			return
		}
		for _, leak := range []string{"signer-01", "wallet-signer", "mimikatz", "credential"} {
			if s := strings.ToLower(inc.Title + " " + strings.Join(inc.Sources, ",") + " " + strings.Join(inc.Tactics, ",")); strings.Contains(s, leak) {
				t.Errorf("%s: scoped incident shows %q: %q", name, leak, s)
			}
			for _, e := range inc.Entities {
				if e.Value == leak {
					t.Errorf("%s: scoped incident keeps entity %v", name, e)
				}
			}
		}
		if !inc.FirstSeen.Equal(inc.Signals[0].Time) || inc.Severity != "critical" {
			t.Errorf("%s: scoped incident %+v", name, inc)
		}
	}
	f("unrestricted", auth.Scope{}, 2, true)
	f("main only", auth.Scope{Partitions: []string{"main"}}, 1, true)
	f("wallet and main", auth.Scope{Partitions: []string{"main", "wallet"}}, 2, true)
	f("role filter on the source", auth.Scope{Filters: []string{"NOT _source=wallet-signer"}}, 1, true)
	f("role filter on the raw text", auth.Scope{Filters: []string{"NOT mimikatz"}}, 1, true)
	f("nothing visible", auth.Scope{Partitions: []string{"hr"}}, 0, false)
}

func TestSignalScopeNotifications(t *testing.T) {
	vis, err := newSignalScope(auth.Principal{Scope: auth.Scope{Partitions: []string{"main"}}})
	if err != nil {
		t.Fatal(err)
	}
	walletOnly := mixedIncident()
	walletOnly.ID, walletOnly.Signals = "INC-2", walletOnly.Signals[:1]
	list := []alert.Notification{
		{ID: "n1", Message: alert.Message{Kind: "incident.created", Title: walletOnly.Title, Data: walletOnly}},
		{ID: "n2", Message: alert.Message{Kind: "incident.escalated", Title: mixedIncident().Title, Data: mixedIncident()}},
		{ID: "n3", Message: alert.Message{Kind: "test", Title: "Mamori test notification"}},
		{ID: "n4", Message: alert.Message{Kind: "incident.created", Title: "x", Data: map[string]any{"unknown": "shape"}}},
	}
	got := vis.notifications(list)
	if len(got) != 2 || got[0].ID != "n2" || got[1].ID != "n3" {
		t.Fatalf("notifications %+v, want n2 (scoped) and n3", got)
	}
	if strings.Contains(got[0].Message.Title, "signer-01") || len(got[0].Message.Data.(detect.Incident).Signals) != 1 {
		t.Errorf("scoped notification %+v", got[0].Message)
	}
	if len(list) != 4 || list[1].Message.Data.(detect.Incident).Signals[0].EventRaw != "mimikatz.exe" {
		t.Error("the outbox's list was changed in place")
	}
}

// The live tail's per-event check hides signal events from restricted
// principals too, even when the query names the partition.
func TestScopeMatcherHidesSignals(t *testing.T) {
	sig := &event.Event{Partition: detect.SignalsPartition, Source: "mamori-detect", Raw: "critical Mimikatz host=signer-01"}
	main := &event.Event{Partition: "main", Source: "nginx", Raw: "GET /"}
	f := func(name string, sc auth.Scope, wantSignal bool) {
		t.Helper()
		m, err := scopeMatcher(auth.Principal{Scope: sc}, true)
		if err != nil {
			t.Fatal(err)
		}
		if m(sig) != wantSignal || !m(main) {
			t.Errorf("%s: signal visible %v (want %v), main visible %v", name, m(sig), wantSignal, m(main))
		}
	}
	f("unrestricted", auth.Scope{}, true)
	f("role filter", auth.Scope{Filters: []string{"NOT _source=wallet-signer"}}, false)
	f("partitions with signals", auth.Scope{Partitions: []string{"main", detect.SignalsPartition}}, false)
}
