package detect

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// withdrawalRules loads the content pack's withdrawal rules.
func withdrawalRules(t *testing.T) *Stateful {
	t.Helper()
	b, err := os.ReadFile("../../content/rules/mamori/withdrawal.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseStatefulRules(b, "withdrawal.yml")
	if err != nil {
		t.Fatalf("withdrawal.yml: %v", err)
	}
	s, err := OpenStateful(rs, StatefulOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// app builds an exchange application event.
func app(at time.Duration, action string, kv ...string) event.Event {
	return ev(at, append([]string{"event.action=" + action, "host=api-01"}, kv...)...)
}

// firedRules counts the signals per rule id.
func firedRules(s *Stateful, evs ...event.Event) map[string]int {
	out := map[string]int{}
	for i := range evs {
		for _, sg := range s.Observe(&evs[i], nil) {
			out[sg.RuleID]++
		}
	}
	return out
}

func TestWithdrawalSelfApproval(t *testing.T) {
	req := func(at time.Duration, wd, user string, extra ...string) event.Event {
		return app(at, "withdrawal_request", append([]string{"withdrawal_id=" + wd, "user_id=" + user, "dest_address=addr-x", "amount=10", "asset=XEM"}, extra...)...)
	}
	appr := func(at time.Duration, wd, user, by, auto string) event.Event {
		return app(at, "withdrawal_approved", "withdrawal_id="+wd, "user_id="+user, "approved_by="+by, "auto="+auto, "dest_address=addr-x")
	}
	f := func(name, rule string, want int, evs ...event.Event) {
		t.Run(name, func(t *testing.T) {
			if got := firedRules(withdrawalRules(t), evs...)[rule]; got != want {
				t.Errorf("%s fired %d, want %d", rule, got, want)
			}
		})
	}
	const self, op = "mamori-withdrawal-self-approval", "mamori-withdrawal-self-approval-operator"
	f("requester approves", self, 1, req(0, "wd1", "ops.a"), appr(time.Minute, "wd1", "ops.a", "ops.a", "false"))
	f("approval logged first", self, 1, appr(0, "wd1", "ops.a", "ops.a", "false"), req(time.Minute, "wd1", "ops.a"))
	f("other approver", self, 0, req(0, "wd1", "u1"), appr(time.Minute, "wd1", "u1", "ops.b", "false"))
	f("risk engine", self, 0, req(0, "wd1", "risk-engine"), appr(time.Minute, "wd1", "risk-engine", "risk-engine", "true"))
	f("other withdrawal", self, 0, req(0, "wd1", "ops.a"), appr(time.Minute, "wd2", "ops.a", "ops.a", "false"))
	f("too far apart", self, 0, req(0, "wd1", "ops.a"), appr(25*time.Hour, "wd1", "ops.a", "ops.a", "false"))
	f("operator enters and approves", op, 1, req(0, "wd1", "treasury", "requested_by=ops.a"), appr(time.Minute, "wd1", "treasury", "ops.a", "false"))
	f("operator enters, another approves", op, 0, req(0, "wd1", "treasury", "requested_by=ops.a"), appr(time.Minute, "wd1", "treasury", "ops.b", "false"))
}

func TestWithdrawalNewDestination(t *testing.T) {
	const rule = "mamori-withdrawal-new-destination"
	w := func(day int, user, addr string) event.Event {
		return app(time.Duration(day)*24*time.Hour, "withdrawal_request", "user_id="+user, "asset=BTC", "amount=1", "dest_address="+addr)
	}
	f := func(name string, want int, evs ...event.Event) {
		t.Run(name, func(t *testing.T) {
			if got := firedRules(withdrawalRules(t), evs...)[rule]; got != want {
				t.Errorf("fired %d, want %d", got, want)
			}
		})
	}
	f("established account, new address", 1, w(0, "u1", "a"), w(1, "u1", "a"), w(2, "u1", "b"))
	f("known address", 0, w(0, "u1", "a"), w(1, "u1", "a"), w(2, "u1", "a"))
	f("one earlier withdrawal only", 0, w(0, "u2", "z"), w(2, "u1", "a"), w(3, "u1", "b"))
	f("new account", 0, w(0, "u2", "z"), w(1, "u2", "z"), w(2, "u1", "a"))
	f("during the baseline", 0, w(0, "u1", "a"), w(0, "u1", "a"), w(0, "u1", "b"))
}

func TestWithdrawalUnusualHour(t *testing.T) {
	// Ten withdrawals over ten days between 09:00 and 11:59 UTC.
	var hist []event.Event
	at := func(day, hour, minute int) time.Duration {
		// st0 is 12:00 UTC; offsets reach the wanted hour of a later day.
		return time.Duration(day)*24*time.Hour + time.Duration(hour-12)*time.Hour + time.Duration(minute)*time.Minute
	}
	for d := 1; d <= 10; d++ {
		hist = append(hist, app(at(d, 9+d%3, 5), "withdrawal_approved", "approved_by=ops.a", "auto=false", fmt.Sprintf("withdrawal_id=w%d", d)))
	}
	f := func(name string, want int, evs ...event.Event) {
		t.Run(name, func(t *testing.T) {
			got := firedRules(withdrawalRules(t), append(append([]event.Event(nil), hist...), evs...)...)
			if got["mamori-withdrawal-unusual-hour-approver"] != want {
				t.Errorf("fired %v, want %d", got, want)
			}
		})
	}
	f("03:00", 1, app(at(11, 3, 0), "withdrawal_approved", "approved_by=ops.a", "auto=false"))
	f("12:30 is within an hour of 11:05", 0, app(at(11, 12, 30), "withdrawal_approved", "approved_by=ops.a", "auto=false"))
	f("usual hour", 0, app(at(11, 10, 0), "withdrawal_approved", "approved_by=ops.a", "auto=false"))
	f("other operator without history", 0, app(at(11, 3, 0), "withdrawal_approved", "approved_by=ops.b", "auto=false"))
	f("automatic approvals are not an operator", 0, app(at(11, 3, 0), "withdrawal_approved", "approved_by=ops.a", "auto=true"))
	f("fires once per new hour", 1, app(at(11, 3, 0), "withdrawal_approved", "approved_by=ops.a", "auto=false"),
		app(at(12, 3, 10), "withdrawal_approved", "approved_by=ops.a", "auto=false"))
}

func TestWithdrawalAmountOutlier(t *testing.T) {
	const rule = "mamori-withdrawal-amount-outlier"
	w := func(day int, amount string) event.Event {
		return app(time.Duration(day)*24*time.Hour, "withdrawal_request", "user_id=u1", "asset=ETH", "amount="+amount, "dest_address=a")
	}
	f := func(name string, want int, evs ...event.Event) {
		t.Run(name, func(t *testing.T) {
			if got := firedRules(withdrawalRules(t), evs...)[rule]; got != want {
				t.Errorf("fired %d, want %d", got, want)
			}
		})
	}
	steady := []event.Event{w(0, "4"), w(1, "5"), w(2, "3"), w(3, "4"), w(4, "5"), w(5, "4"), w(6, "3")}
	f("steady", 0, append(steady, w(7, "4"))...)
	f("spike", 1, append(steady, w(7, "400"))...)
	f("too little history", 0, w(0, "4"), w(1, "5"), w(2, "4"), w(3, "400"))
}

func TestFirstSeenOptionsBad(t *testing.T) {
	f := func(name, body string) {
		t.Run(name, func(t *testing.T) {
			_, err := ParseStatefulRules([]byte("mamori: v1\nid: x\ntype: first_seen\n"+body), "bad.yml")
			if err == nil || err.Error() == "" {
				t.Errorf("ParseStatefulRules(%q) = %v, want an error", body, err)
			}
		})
	}
	f("tolerance on two fields", "value: [a, b]\ntolerance: 1\n")
	f("negative history", "value: [a]\nmin_history: -1\n")
	f("negative tolerance", "value: [_hour]\ntolerance: -2\n")
}

func TestFirstSeenHourWrap(t *testing.T) {
	s := newEngine(t, `
mamori: v1
id: h
type: first_seen
group_by: [user.name]
value: [_hour]
tolerance: 1
timezone: "+09:00"
`, StatefulOptions{})
	// st0 is 12:00 UTC = 21:00 at +09:00; learn 23:xx local, then 00:30 is near.
	learn := ev(2*time.Hour+30*time.Minute, "user.name=a")
	got := feed(s, learn, ev(3*time.Hour+30*time.Minute, "user.name=a"), ev(5*time.Hour, "user.name=a"))
	if got[1] != "" || got[2] != "h" {
		t.Errorf("fired %q, want 00:30 near 23:30 and 02:00 new", got)
	}
}
