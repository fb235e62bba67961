package main

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

func TestQ(t *testing.T) {
	e := event.Event{Host: "wallet-signer01", Fields: []event.Field{{Name: "event.action", Value: "admin_config_change"}, {Name: "ticket", Value: ""}, {Name: "key", Value: "hot_wallet.XEM.max_tx_amount"}, {Name: "amount", Value: "100000000.000000"},
		{Name: "winlog.event_data.Image", Value: `C:\Users\y.sato\AppData\Roaming\x.exe`}}}
	for _, s := range []string{`event.action=admin_config_change`, `ticket=*`, `NOT ticket=*`, `ticket=""`, `key=hot_wallet*`, `key=*wallet*`, `amount>1000`, `_host=wallet*`, `winlog.event_data.Image="*\\AppData\\*"`, `winlog.event_data.Image=*\\appdata\\*`, `event.action=(admin_config_change OR foo)`,`event.action IN (admin_config_change, foo)`} {
		q, err := query.Parse(s)
		if err != nil {
			t.Logf("%s: ERR %v", s, err)
			continue
		}
		m, err := q.Matcher()
		if err != nil {
			t.Logf("%s: ERR %v", s, err)
			continue
		}
		t.Logf("%-40s %v", s, m.Match(&e))
	}
}
