package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/mamori/mamori/internal/scenario"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildBin != "" {
		_ = os.RemoveAll(filepath.Dir(buildBin)) // a temp dir; nothing to report if it lingers
	}
	os.Exit(code)
}

// apiDo sends an API request with the admin token and returns the status
// and body.
func apiDo(t *testing.T, be *backend, method, path, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, be.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eAdmin)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// signInWithToken passes the first-run page (when shown) and signs in
// with the admin token.
func (b *browser) signInWithToken() {
	b.t.Helper()
	b.do("sign-in page", chromedp.Navigate(b.base+"/signin"))
	b.wait("sign-in form", `document.querySelector('#token') || document.querySelector('#setup-user')`)
	if eval[bool](b, `!!document.querySelector('#setup-user')`) {
		b.click("skip setup", buttonText(".signin-card", "Skip: sign in with an API token instead"))
	}
	b.do("token", chromedp.WaitVisible(chromedp.CSS("#token")), chromedp.SendKeys(chromedp.CSS("#token"), e2eAdmin), chromedp.Click(chromedp.CSS("form.signin-card button[type=submit]")))
	b.wait("shell", `document.querySelector('.shell textarea.q-input')`)
}

// seedMany sends n generated events over the last 50 minutes, 50,000 per
// request.
func seedMany(t *testing.T, be *backend, n int) {
	t.Helper()
	now := time.Now().UTC()
	users := []string{"alice", "bob", "carol", "dave", "mallory", "zoe", "yann", "xu"}
	var buf bytes.Buffer
	flush := func() {
		for attempt := 0; ; attempt++ {
			st, body := apiDo(t, be, "POST", "/api/v1/ingest?source=perf&host=bulk-1", "application/x-ndjson", buf.Bytes())
			if st == http.StatusTooManyRequests && attempt < 200 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if st != http.StatusOK {
				t.Fatalf("seed: %d %s", st, body)
			}
			break
		}
		buf.Reset()
	}
	for i := range n {
		ts := now.Add(-time.Duration(i) * 50 * time.Minute / time.Duration(n))
		fmt.Fprintf(&buf, `{"time":%q,"user":%q,"status":%d,"bytes":%d,"msg":"GET /api/item/%d from 10.%d.%d.%d took %dms"}`+"\n",
			ts.Format(time.RFC3339Nano), users[i%len(users)], 200+i%5*100, 100+i%9000, i%5000, i%7, i%250, i%200, i%900)
		if (i+1)%50_000 == 0 {
			flush()
		}
	}
	if buf.Len() > 0 {
		flush()
	}
}

// TestBrowserFirstRows measures the time from pressing Search to the first
// result rows painted, on 200,000 events (MAMORI_E2E_ROWS sets another
// count, e.g. 1000000 for the benchmark's size). The goal is under 1 s;
// the test fails only above 5 s (the CI machine is shared and noisy).
func TestBrowserFirstRows(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: %s is absent (apt-get install chromium)", chromiumPath)
	}
	n := 200_000
	if v := os.Getenv("MAMORI_E2E_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("MAMORI_E2E_ROWS=%q: want a positive count", v)
		}
	}
	be := startBackend(t)
	t0 := time.Now()
	seedMany(t, be, n)
	t.Logf("seeded %d events in %v", n, time.Since(t0).Round(time.Millisecond))
	if !searchWorks(t, be) {
		t.Skip("the server cannot search yet")
	}
	b := newBrowser(t, front(t, be))
	b.backend = be
	defer b.checkConsole()
	b.signInWithToken()

	var took []float64
	for run := range 3 {
		b.do("search page", chromedp.Navigate(b.base+"/search?from=-1h"))
		b.wait("editor", `document.querySelector('textarea.q-input') && !document.querySelector('.vt-row')`)
		eval[bool](b, `(() => {
			const p = window.__perf = {};
			const btn = document.querySelector('.search-bar button.primary');
			btn.addEventListener('click', () => { p.t0 = performance.now(); }, { capture: true, once: true });
			const mo = new MutationObserver(() => {
				if (p.t0 === undefined || p.rows !== undefined || !document.querySelector('.vt-row')) return;
				p.rows = performance.now();
				p.count = document.querySelectorAll('.vt-row').length;
				mo.disconnect();
				// Two frames later the rows are on the screen.
				requestAnimationFrame(() => requestAnimationFrame(() => { p.paint = performance.now(); }));
			});
			mo.observe(document.body, { childList: true, subtree: true });
			return true; })()`)
		b.runQuery("*")
		b.wait("first rows painted", `window.__perf.paint !== undefined`)
		ms := eval[float64](b, `window.__perf.paint - window.__perf.t0`)
		rows := eval[int](b, `window.__perf.count`)
		b.waitDone("search done")
		status := eval[string](b, `document.querySelector('.toolbar .status').textContent`)
		t.Logf("run %d: first %d rows painted %.0f ms after Search (%d events stored); finished: %s", run+1, rows, ms, n, status)
		took = append(took, ms)
		if run == 0 {
			b.shot("30-first-rows")
		}
	}
	slices.Sort(took)
	median := took[len(took)/2]
	t.Logf("time to first rows painted, median of %d: %.0f ms (goal: under 1000 ms on %d events)", len(took), median, n)
	if median > 5000 {
		t.Errorf("first rows took %.0f ms (median), far over the 1 s goal", median)
	}
}

const scenarioDir = "../../../shared/testdata/scenario"

// genScenario builds the scenario generator of ../shared and writes the
// dev scenario, shifted by whole weeks into the last weeks, at a small background scale
// (the attack's scripted events do not scale).
func genScenario(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "dev.json")); err != nil {
		t.Skipf("skipping: the scenario generator is absent at %s (shared test data): %v", scenarioDir, err)
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "dev")
	start, err := scenario.RecentStart(src, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := scenario.Generate(src, out, "0.02", start); err != nil {
		t.Fatal(err)
	}
	return out
}

// ingestScenario sends the scenario's files in 20-minute slices of event
// time, every source of a slice before the next slice, so detection sees
// the sources interleaved as a live feed would deliver them.
func ingestScenario(t *testing.T, be *backend, dir string) int {
	t.Helper()
	bodies, total, err := scenario.Slices(dir, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	err = scenario.Post(bodies, func(path string, body []byte) (int, []byte) {
		return apiDo(t, be, "POST", path, "", body)
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

type incidentSummary struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Signals  []any  `json:"signals"`
	Comments []struct {
		Text string `json:"text"`
	} `json:"comments"`
}

// waitCritical polls the incidents until a critical one exists and the
// list has stopped changing for two seconds.
func waitCritical(t *testing.T, be *backend) incidentSummary {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	stable := 0
	for time.Now().Before(deadline) {
		st, body := apiDo(t, be, "GET", "/api/v1/incidents?from=2000-01-01T00:00:00Z", "", nil)
		if st != http.StatusOK {
			t.Fatalf("incidents: %d %s", st, body)
		}
		var ans struct {
			Incidents []incidentSummary `json:"incidents"`
		}
		if err := json.Unmarshal(body, &ans); err != nil {
			t.Fatal(err)
		}
		var crit *incidentSummary
		sig := ""
		for i := range ans.Incidents {
			inc := &ans.Incidents[i]
			sig += fmt.Sprintf("%s/%s/%d;", inc.ID, inc.Severity, len(inc.Signals))
			if inc.Severity == "critical" && (crit == nil || len(inc.Signals) > len(crit.Signals)) {
				crit = inc
			}
		}
		if crit != nil && sig == last {
			if stable++; stable >= 6 { // 3 s unchanged: incidents merge while detection drains
				t.Logf("%d incidents; the critical one: %q with %d signals", len(ans.Incidents), crit.Title, len(crit.Signals))
				return *crit
			}
		} else {
			stable = 0
		}
		last = sig
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no critical incident within 2 minutes of ingesting the scenario (last: %s)", last)
	return incidentSummary{}
}

// TestBrowserScenario is the first-run and incident walk-through: the
// first admin is created on the setup page, the dev scenario of
// ../shared/testdata/scenario is ingested, and the critical incident is
// opened (timeline, entity graph), acknowledged and commented on. It also
// keeps a saved search and a dashboard on the server and shows the
// storage settings. Screenshots of each page go to $MAMORI_SCREENSHOTS.
func TestBrowserScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: %s is absent (apt-get install chromium)", chromiumPath)
	}
	out := genScenario(t)
	be := startBackend(t)
	b := newBrowser(t, front(t, be))
	b.backend = be
	defer b.checkConsole()

	// First run: the setup page creates the first admin and signs it in.
	b.do("open", chromedp.Navigate(b.base+"/incidents"))
	b.wait("setup page", `document.querySelector('#setup-user')`)
	if !eval[bool](b, `document.querySelector('.signin-card').textContent.includes('no token is needed')`) {
		t.Error("the setup page from loopback asks for a token")
	}
	b.setValue("#setup-user", "ana")
	b.do("passwords", chromedp.SendKeys(chromedp.CSS("#setup-password"), "a long enough password 1"),
		chromedp.SendKeys(chromedp.CSS("#setup-confirm"), "a long enough password 2"))
	b.shot("20-setup")
	b.do("mismatch", chromedp.Click(chromedp.CSS("form.signin-card button[type=submit]")))
	b.wait("mismatch error", `document.querySelector('.signin-card .alert.error')?.textContent.includes('differ')`)
	b.setValue("#setup-confirm", "a long enough password 1")
	b.do("create admin", chromedp.Click(chromedp.CSS("form.signin-card button[type=submit]")))
	b.wait("signed in", `document.querySelector('.shell') && location.pathname === '/incidents'`)
	if who := eval[string](b, `document.querySelector('.topbar').textContent`); !strings.Contains(who, "ana") {
		t.Errorf("top bar %q does not name the new admin", who)
	}
	st, body := apiDo(t, be, "GET", "/api/v1/users", "", nil)
	if st != 200 || !strings.Contains(string(body), `"ana"`) {
		t.Fatalf("users after setup: %d %s", st, body)
	}

	t0 := time.Now()
	lines := ingestScenario(t, be, out)
	t.Logf("ingested %d scenario lines in %v", lines, time.Since(t0).Round(time.Millisecond))
	crit := waitCritical(t, be)

	// The incident: list, detail with graph and timeline, acknowledge, comment.
	b.do("incidents", chromedp.Navigate(b.base+"/incidents?status=open&from=-30d"))
	row := `document.querySelector('table[aria-label=Incidents] tbody tr[data-id="` + crit.ID + `"]')`
	b.wait("incident listed", row)
	b.shot("21-incidents")
	b.click("open incident", row)
	b.wait("detail", `document.querySelector('.inc-detail svg.egraph .eg-edge') && document.querySelectorAll('.inc-detail ol.timeline > li').length > 1`)
	b.wait("critical", `document.querySelector('.inc-detail .card-head').textContent.toLowerCase().includes('critical')`)
	b.shot("22-incident-critical")
	b.click("acknowledge", `document.querySelector('#inc-ack')`)
	b.wait("acknowledged", `document.querySelector('.inc-detail .kv')?.textContent.includes('In progress') && !document.querySelector('#inc-ack')`)
	b.do("comment", chromedp.SendKeys(chromedp.CSS("#tri-comment"), "wallet signer contained; keys rotated"), chromedp.Click(chromedp.CSS(`form.triage button[type=submit]`)))
	b.wait("comment shown", `document.querySelector('.inc-detail .comments')?.textContent.includes('keys rotated')`)
	b.wait("timeline kept", `document.querySelectorAll('.inc-detail ol.timeline > li').length > 1`)
	eval[bool](b, `(() => { document.querySelector('.inc-detail ol.timeline').scrollIntoView(); return true; })()`)
	b.shot("23-incident-timeline")
	st, body = apiDo(t, be, "GET", "/api/v1/incidents/"+crit.ID, "", nil)
	var got incidentSummary
	if err := json.Unmarshal(body, &got); st != 200 || err != nil {
		t.Fatalf("incident: %d %v %s", st, err, body)
	}
	if got.Status != "in_progress" || !slices.ContainsFunc(got.Comments, func(c struct {
		Text string `json:"text"`
	}) bool {
		return strings.Contains(c.Text, "keys rotated")
	}) {
		t.Errorf("after triage the server has status %q and comments %+v", got.Status, got.Comments)
	}
	b.checkConsole()

	testSavedOnServer(t, b)
	testStorageSettings(t, b)
}

// testSavedOnServer saves a shared search and a dashboard as the signed-in
// user (a session cookie with CSRF) and checks both are on the server.
func testSavedOnServer(t *testing.T, b *browser) {
	t.Helper()
	b.do("search", chromedp.Click(chromedp.CSS(`nav a[href="/search"]`)))
	b.runQuery("_source=exchange_app | count by event")
	b.waitDone("exchange search")
	b.click("save", buttonText(".search-bar", "Save"))
	b.do("name it", chromedp.WaitVisible(chromedp.CSS("#sv-name")), chromedp.Click(chromedp.CSS("#sv-shared")),
		chromedp.SendKeys(chromedp.CSS("#sv-name"), "exchange events"), chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")))
	b.wait("saved", `[...document.querySelectorAll('#toasts .toast')].some(t => t.textContent.startsWith('Saved "exchange events"'))`)
	b.do("dashboards", chromedp.Click(chromedp.CSS(`nav a[href="/dashboards"]`)))
	b.click("empty", buttonText(".dash-empty", "Start empty"))
	b.do("name", chromedp.WaitVisible(chromedp.CSS("#dash-name")), chromedp.SendKeys(chromedp.CSS("#dash-name"), "Exchange"), chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")))
	b.click("add panel", buttonText(".dash-head", "+ Panel"))
	b.wait("saved search offered", `[...document.querySelectorAll('#pn-saved option')].some(o => o.textContent === 'exchange events')`)
	b.do("pick saved", chromedp.SetValue(chromedp.CSS("#pn-saved"), "0"))
	eval[bool](b, `(() => { document.querySelector('#pn-saved').dispatchEvent(new Event('change')); return true; })()`)
	b.wait("query filled", `document.querySelector('#pn-query').value.includes('exchange_app')`)
	b.do("panel", chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")))
	b.wait("panel drawn", `document.querySelector('.dash-grid .panel') && !document.querySelector('.dash-grid .panel .spinner')`)
	b.shot("24-dashboard-server")
	st, body := apiDo(t, b.backend, "GET", "/api/v1/dashboards?all=1", "", nil)
	if st != 200 || !strings.Contains(string(body), `"Exchange"`) || !strings.Contains(string(body), "exchange_app") || !strings.Contains(string(body), `"owner":"user:ana"`) {
		t.Errorf("dashboards on the server: %d %s", st, body)
	}
	st, body = apiDo(t, b.backend, "GET", "/api/v1/saved-searches", "", nil)
	if st != 200 || !strings.Contains(string(body), `"exchange events"`) || !strings.Contains(string(body), `"shared":true`) {
		t.Errorf("saved searches on the server: %d %s", st, body)
	}
	b.checkConsole()
}

// testStorageSettings opens the Storage tab: partitions with their sizes,
// and the retention form (editable when the store supports it).
func testStorageSettings(t *testing.T, b *browser) {
	t.Helper()
	b.do("settings", chromedp.Navigate(b.base+"/settings?tab=about"))
	b.wait("partitions", `[...document.querySelectorAll('table[aria-label=Partitions] td')].some(td => td.textContent === 'main')`)
	b.shot("25-settings-storage")
	if eval[bool](b, `!!document.querySelector('#st-default:not([disabled])')`) {
		// Forever → ten years shortens retention: the server asks for a
		// confirmation, which the page asks the user in words.
		b.setValue("#st-default", "3650d")
		b.expectNetworkError("400") // the first PUT answers "confirm": that is the protocol
		b.click("save storage", buttonText(".page", "Save storage settings"))
		b.wait("confirm", `document.querySelector('dialog[open]')?.textContent.includes('default retention forever → 3650d')`)
		b.shot("25a-settings-storage-confirm")
		b.do("confirm", chromedp.Click(chromedp.CSS("dialog[open] button.primary")))
		b.wait("storage saved", `[...document.querySelectorAll('#toasts .toast')].some(t => t.textContent === 'Storage settings saved')`)
		b.wait("shown", `document.querySelector('#st-default').value === '3650d'`)
		b.allowNone()
	} else {
		t.Log("the store cannot change retention at run time: the Storage tab is read-only")
	}
	b.checkConsole()
}

// TestBrowserSSO signs in through single sign-on: a real OpenID Connect
// provider (mockoidc) on loopback, the server configured for it, and the
// sign-in page's button, which comes back signed in with the mapped role.
func TestBrowserSSO(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: %s is absent (apt-get install chromium)", chromiumPath)
	}
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() }) // test over; nothing to report
	c := m.Config()
	be := startBackendWith(t, func(url string) []string {
		p := filepath.Join(t.TempDir(), "mamori.yaml")
		cfg := fmt.Sprintf("oidc:\n  issuer: %s\n  client_id: %s\n  client_secret: %s\n  redirect_url: %s/api/v1/oidc/callback\n  scopes: [profile, email, groups]\n  group_roles: {secops: [analyst]}\n",
			c.Issuer, c.ClientID, c.ClientSecret, url)
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"--config", p}
	})
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-ui-1", PreferredUsername: "hana", Email: "hana@example.com", Groups: []string{"secops"}})
	b := newBrowser(t, front(t, be))
	b.backend = be
	defer b.checkConsole()

	b.do("open", chromedp.Navigate(b.base+"/incidents"))
	b.wait("sso button", `document.querySelector('#sso-login')`)
	b.shot("26-signin-sso")
	b.do("sso", chromedp.Click(chromedp.CSS("#sso-login")))
	b.wait("signed in", `document.querySelector('.shell') && location.pathname === '/incidents'`)
	if who := eval[string](b, `document.querySelector('.topbar').textContent`); !strings.Contains(who, "hana") || !strings.Contains(who, "analyst") {
		t.Errorf("after single sign-on the top bar says %q, want hana with the analyst role", who)
	}
	// A write with the session's CSRF token works: the saved search is hers.
	b.do("search", chromedp.Click(chromedp.CSS(`nav a[href="/search"]`)))
	b.runQuery("error")
	b.waitDone("search")
	b.click("save", buttonText(".search-bar", "Save"))
	b.do("name it", chromedp.WaitVisible(chromedp.CSS("#sv-name")), chromedp.SendKeys(chromedp.CSS("#sv-name"), "hana's errors"), chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")))
	b.wait("saved", `[...document.querySelectorAll('#toasts .toast')].some(t => t.textContent === 'Saved "hana\'s errors"')`)
	st, body := apiDo(t, be, "GET", "/api/v1/saved-searches?all=1", "", nil)
	if st != 200 || !strings.Contains(string(body), `"owner":"user:hana"`) {
		t.Errorf("saved searches: %d %s", st, body)
	}
	// Signed out, a user exists now: the plain sign-in page, with the button.
	b.click("sign out", buttonText(".topbar", "Sign out"))
	b.wait("sign-in page", `document.querySelector('#sso-login') && (document.querySelector('#token') || document.querySelector('#user'))`)
	if eval[bool](b, `!!document.querySelector('#setup-user') || document.querySelector('.signin-card').textContent.includes('Create the first admin')`) {
		t.Error("the first-run setup is still offered after a user signed in")
	}
	b.shot("27-signin-sso")
}
