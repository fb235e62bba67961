package api

import (
	"fmt"
	"github.com/mamori/mamori/internal/store"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// memRetention is an in-memory RetentionControl.
type memRetention struct {
	mu     sync.Mutex
	def    time.Duration
	ages   map[string]time.Duration
	budget int64
	sets   int
}

func (m *memRetention) Retention() (time.Duration, map[string]time.Duration, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.def, maps.Clone(m.ages), m.budget
}

func (m *memRetention) SetRetention(def time.Duration, ages map[string]time.Duration, budget int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if def < 0 || budget < 0 {
		return fmt.Errorf("negative")
	}
	m.def, m.ages, m.budget = def, maps.Clone(ages), budget
	m.sets++
	return nil
}

func TestStorageSettings(t *testing.T) {
	ctl := &memRetention{def: 90 * 24 * time.Hour, ages: map[string]time.Duration{"wallet": 400 * 24 * time.Hour}}
	e := newUIEnv(t, Options{Retention: ctl})
	var ans storageAnswer
	if code := e.do("admin", "GET", "/api/v1/settings/storage", "", &ans); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if !ans.Editable || ans.DefaultRetention != "90d" || len(ans.Partitions) != 1 || ans.Partitions[0].Name != "wallet" || !ans.Partitions[0].Pending || ans.Partitions[0].Retention != "400d" {
		t.Fatalf("get: %+v", ans)
	}
	if code := e.do("bob", "GET", "/api/v1/settings/storage", "", nil); code != http.StatusForbidden {
		t.Errorf("analyst reads storage settings: %d, want 403", code)
	}

	// Longer retention: applied at once.
	if code := e.do("admin", "PUT", "/api/v1/settings/storage", `{"default_retention":"180d","partitions":{"wallet":"400d","fw":"120d"},"disk_budget_bytes":0}`, &ans); code != 200 {
		t.Fatalf("put: %d %+v", code, ans)
	}
	if ctl.def != 180*24*time.Hour || ctl.ages["fw"] != 120*24*time.Hour || !ans.Overridden || ans.UpdatedBy == "" {
		t.Errorf("after put: ctl %+v, answer %+v", ctl, ans)
	}
	// Shorter retention and a new budget need confirm.
	var errAns map[string]any
	body := `{"default_retention":"7d","partitions":{"wallet":"400d"},"disk_budget_bytes":1073741824}`
	if code := e.do("admin", "PUT", "/api/v1/settings/storage", body, &errAns); code != http.StatusBadRequest || errAns["confirm_required"] != true ||
		!strings.Contains(errAns["error"].(string), "default retention 180d → 7d") || !strings.Contains(errAns["error"].(string), "fw 120d → 7d") {
		t.Errorf("shortening without confirm: %d %v", code, errAns)
	}
	if ctl.def != 180*24*time.Hour {
		t.Errorf("an unconfirmed change was applied: %v", ctl.def)
	}
	if code := e.do("admin", "PUT", "/api/v1/settings/storage", strings.Replace(body, "{", `{"confirm":true,`, 1), nil); code != 200 {
		t.Errorf("confirmed: %d", code)
	}
	if ctl.def != 7*24*time.Hour || ctl.budget != 1<<30 {
		t.Errorf("confirmed change not applied: %+v", ctl)
	}
	if !strings.Contains(e.auditLog(), "storage_settings") {
		t.Error("no audit record for the change")
	}

	// A restart applies the saved settings over the configuration's.
	ctl2 := &memRetention{def: 90 * 24 * time.Hour}
	e2 := newUIEnv(t, Options{Retention: ctl2, UIDir: e.dir})
	if ctl2.def != 7*24*time.Hour || ctl2.ages["wallet"] != 400*24*time.Hour || ctl2.budget != 1<<30 {
		t.Errorf("after restart: %+v", ctl2)
	}
	if e2.do("admin", "GET", "/api/v1/settings/storage", "", &ans); !ans.Overridden {
		t.Errorf("after restart not marked overridden: %+v", ans)
	}
}

func TestStorageSettingsBadInput(t *testing.T) {
	ctl := &memRetention{}
	e := newUIEnv(t, Options{Retention: ctl})
	f := func(body string, wants ...string) {
		t.Helper()
		var ans map[string]any
		code := e.do("admin", "PUT", "/api/v1/settings/storage", body, &ans)
		msg, _ := ans["error"].(string)
		if code != http.StatusBadRequest {
			t.Errorf("PUT %s = %d %q, want 400", body, code, msg)
		}
		for _, w := range wants {
			if !strings.Contains(msg, w) {
				t.Errorf("PUT %s: %q lacks %q", body, msg, w)
			}
		}
	}
	f(`{`, "storage settings")
	f(`{"default_retention":"soon"}`, `"soon" is not a duration`)
	f(`{"default_retention":"10m","partitions":{"bad name":"1d","ok":"-5d"}}`, "shorter than an hour", `partition "bad name"`, "ok: -5d is negative")
	f(`{"disk_budget_bytes":-1}`, "disk budget: negative")
	f(`{"disk_budget_bytes":10}`, "below 1 MiB")
	f(`{"unknown":1}`, "unknown field")
	if ctl.sets != 0 {
		t.Errorf("bad input changed the settings %d times", ctl.sets)
	}
	// The real store changes retention while it runs.
	real := newUIEnv(t, Options{})
	var realAns storageAnswer
	real.do("admin", "GET", "/api/v1/settings/storage", "", &realAns)
	if !realAns.Editable {
		t.Errorf("the store's retention is not editable: %+v", realAns)
	}
	if code := real.do("admin", "PUT", "/api/v1/settings/storage", `{"default_retention":"400d","confirm":true}`, nil); code != http.StatusOK {
		t.Errorf("PUT on the real store: %d", code)
	}
	if def, _, _ := real.st.Retention(); def != 400*24*time.Hour {
		t.Errorf("store retention after PUT = %v, want 400d", def)
	}
	// Read-only: a store without run-time retention settings.
	plain, err := store.Open(store.Options{Dir: t.TempDir(), MaintainInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	ro := newUIEnv(t, Options{Store: struct{ store.Engine }{plain}})
	var ans storageAnswer
	ro.do("admin", "GET", "/api/v1/settings/storage", "", &ans)
	if ans.Editable || !strings.Contains(ans.Reason, "configuration file") {
		t.Errorf("read-only store: %+v", ans)
	}
	var errAns map[string]any
	if code := ro.do("admin", "PUT", "/api/v1/settings/storage", `{"default_retention":"1d"}`, &errAns); code != http.StatusBadRequest || !strings.Contains(errAns["error"].(string), "cannot change retention") {
		t.Errorf("put on a read-only store: %d %v", code, errAns)
	}
}

func FuzzStorageRequest(f *testing.F) {
	f.Add("90d", "wallet", "400d", int64(0))
	f.Add("36h", "a-b_c", "0", int64(1<<30))
	f.Add("", "", "forever", int64(-1))
	f.Fuzz(func(t *testing.T, def, name, age string, budget int64) {
		req := storageRequest{DefaultRetention: def, Partitions: map[string]string{name: age}, DiskBudgetBytes: budget}
		d, ages, err := req.parse()
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if d < 0 || ages[name] < 0 {
			t.Fatalf("parse(%q, %q) gave a negative age", def, age)
		}
		_ = fmtAge(d) // never panics
	})
}
