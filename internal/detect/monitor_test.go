package detect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
	"github.com/mamori/mamori/internal/store"
)

func TestMonitors(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := 0; i < 50; i++ { // the firewall sent all morning, then stopped an hour ago
		evs = append(evs, event.Event{Time: now.Add(-3*time.Hour + time.Duration(i)*time.Minute*2).UnixNano(), Source: "firewall", Raw: "deny tcp"})
	}
	for i := 0; i < 30; i++ { // failed logins in the last 10 minutes
		evs = append(evs, event.Event{Time: now.Add(-time.Duration(i) * 10 * time.Second).UnixNano(), Source: "sshd", Raw: "Failed password for root"})
	}
	src := query.NewMemSource(evs, query.MemOptions{})
	ms, err := NewMonitors([]Monitor{
		{ID: "ssh-failures", Query: `"Failed password" | count`, Op: ">", Value: 20, Every: time.Minute, Window: 10 * time.Minute, Level: "high"},
		{ID: "calm", Query: `"Failed password" | count`, Op: ">", Value: 1000, Window: 10 * time.Minute},
		{ID: "quiet", Type: "quiet", Window: 30 * time.Minute},
	}, func() store.Snapshot { return src }, nil, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sigs, err := ms.Check(ctx, &ms.list[0], now)
	if err != nil || len(sigs) != 1 || sigs[0].Severity != "high" || !strings.Contains(sigs[0].Title, "= 30") {
		t.Fatalf("threshold monitor: %+v %v", sigs, err)
	}
	if sigs, _ := ms.Check(ctx, &ms.list[1], now); len(sigs) != 0 {
		t.Fatalf("calm monitor fired: %+v", sigs)
	}
	sigs, err = ms.Check(ctx, &ms.list[2], now)
	if err != nil || len(sigs) != 1 || !strings.Contains(sigs[0].Title, "firewall") || sigs[0].Kind != "monitor" {
		t.Fatalf("quiet monitor: %+v %v", sigs, err)
	}
	if _, err := NewMonitors([]Monitor{{ID: "bad", Query: "x | cuont", Op: "~"}}, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "op") || !strings.Contains(err.Error(), "cuont") {
		t.Fatalf("bad monitor: %v", err)
	}
}
