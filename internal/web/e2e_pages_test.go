package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// hookSink is a webhook receiver for the notification channel of the
// browser test.
type hookSink struct {
	url  string
	hits atomic.Int64
}

func newHookSink(t *testing.T) *hookSink {
	t.Helper()
	h := &hookSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the body is not checked here
		h.hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/hook"
	return h
}

// writeConfig writes a server configuration with one webhook channel.
func writeConfig(t *testing.T, hookURL string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mamori.yaml")
	cfg := "notify:\n  channels:\n    - name: team-hook\n      type: webhook\n      url: " + hookURL + "\n      min_severity: high\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// click presses the first element that a JavaScript expression finds.
func (b *browser) click(what, js string) {
	b.t.Helper()
	b.wait(what, js)
	b.do(what, chromedp.Click(chromedp.JSPath(js)))
}

// setValue sets a form field's value and fires input (for textareas that
// chromedp's SendKeys would type slowly).
func (b *browser) setValue(sel, v string) {
	b.t.Helper()
	b.do("set "+sel, chromedp.SetValue(chromedp.CSS(sel), v))
	eval[bool](b, `(() => { document.querySelector('`+sel+`').dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
}

func buttonText(scope, text string) string {
	return `[...document.querySelectorAll('` + scope + ` button')].find(b => b.textContent.trim() === '` + text + `')`
}

// testCoverage checks the ATT&CK matrix of the Rules page and its filter.
func testCoverage(t *testing.T, b *browser) {
	t.Helper()
	b.wait("matrix", `document.querySelectorAll('.matrix .mx-col').length >= 14`)
	b.click("credential access column", `[...document.querySelectorAll('.matrix .mx-col')].find(c => c.textContent.startsWith('Credential Access'))`)
	b.wait("filtered by tactic", `document.querySelector('.mx-col.picked') && [...document.querySelectorAll('table[aria-label=Rules] tbody tr')].every(tr => tr.textContent.includes('Credential Access'))
		&& [...document.querySelectorAll('table[aria-label=Rules] td')].some(td => td.textContent.startsWith('Login failure (UI test)'))`)
	eval[bool](b, `(() => { document.querySelector('.main').scrollTo(0, 0); return true; })()`)
	b.shot("07d-rules-coverage")
	b.click("show all", `[...document.querySelectorAll('.card-head button')].find(x => x.textContent.includes('show all'))`)
	b.wait("unfiltered", `!document.querySelector('.mx-col.picked')`)
}

// testIncidentDetail checks the incident page's graph, kill chain,
// timeline, activity and the link to the events around a signal.
func testIncidentDetail(t *testing.T, b *browser) {
	t.Helper()
	b.wait("graph", `document.querySelectorAll('.inc-detail .egraph .eg-node').length >= 2 && document.querySelectorAll('.inc-detail .eg-edge').length >= 1`)
	b.wait("kill chain", `[...document.querySelectorAll('.inc-detail .killchain li.hit')].some(li => li.textContent.includes('Credential Access'))`)
	b.wait("timeline", `document.querySelectorAll('.inc-detail .timeline .tl-item').length >= 2 && document.querySelector('.inc-detail .tl-raw pre')?.textContent.includes('zoe')`)
	b.wait("status change noted", `[...document.querySelectorAll('.inc-detail .comments .change')].some(d => d.textContent.includes('In progress'))`)
	b.do("open raw", chromedp.Click(chromedp.CSS(`.inc-detail .tl-raw summary`)))
	b.shot("07e-incident-detail")
	b.click("events around", `[...document.querySelectorAll('.inc-detail .tl-item a')].find(a => a.textContent.startsWith('Events around'))`)
	b.wait("search around", `location.pathname === '/search' && document.querySelector('textarea.q-input')?.value.startsWith('_host=')`)
	if from := eval[string](b, `new URLSearchParams(location.search).get('from')`); len(from) < 20 {
		t.Errorf("events-around search has from=%q, want an absolute time", from)
	}
	b.waitDone("search around")
}

// testSignals checks the Signals page: list, summary and a signal's raw event.
func testSignals(t *testing.T, b *browser) {
	t.Helper()
	b.do("signals", chromedp.Click(chromedp.CSS(`nav a[href="/signals"]`)))
	row := `[...document.querySelectorAll('table[aria-label="Signals list"] tr.sig-row')].find(tr => tr.textContent.includes('(UI test)'))`
	b.click("signal row", row)
	b.wait("signal raw", `document.querySelector('.sig-detail pre.raw-event')?.textContent.includes('zoe')`)
	b.wait("summary", `document.querySelector('.sig-summary table.grid') && document.querySelector('.sig-summary').textContent.includes('Credential Access')`)
	b.shot("07f-signals")
	b.checkConsole()
}

// testSettings creates a user (with one-time codes, then disabled), a
// role, sends a test notification and uploads a lookup table.
func testSettings(t *testing.T, b *browser, hook *hookSink) {
	t.Helper()
	b.do("settings", chromedp.Click(chromedp.CSS(`nav a[href="/settings"]`)))
	b.wait("users tab", `document.querySelector('#u-name') || document.querySelector('.page .alert')`)
	if !eval[bool](b, `!!document.querySelector('#u-name')`) {
		t.Log("the server has no user accounts; skipping the settings checks")
		return
	}
	b.do("new user", chromedp.SendKeys(chromedp.CSS("#u-name"), "sam"), chromedp.SendKeys(chromedp.CSS("#u-pass"), "a long enough password 7"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Add a user"] button[type=submit]`)))
	b.click("require codes", `document.querySelector('button[aria-label="Require codes sam"]')`)
	b.wait("otpauth", `document.querySelector('dialog[open] #totp-uri')?.textContent.startsWith('otpauth://totp/Mamori:sam?secret=') && document.querySelector('dialog[open] svg.qr path')`)
	b.shot("10a-settings-totp")
	b.do("done", chromedp.Click(chromedp.CSS("dialog[open] button.primary")))
	b.wait("codes on", `[...document.querySelectorAll('table[aria-label=Users] tr')].some(tr => tr.textContent.startsWith('sam') && tr.textContent.includes('one-time codes'))`)
	b.click("disable", `document.querySelector('button[aria-label="Disable sam"]')`)
	b.do("confirm disable", chromedp.WaitVisible(chromedp.CSS("dialog[open] button.primary")), chromedp.Click(chromedp.CSS("dialog[open] button.primary")))
	b.wait("disabled", `[...document.querySelectorAll('table[aria-label=Users] tr.disabled')].some(tr => tr.textContent.startsWith('sam'))`)
	b.shot("10-settings-users")

	b.do("roles tab", chromedp.Click(chromedp.CSS("#set-tab-roles")))
	b.wait("role form", `document.querySelector('#r-name')`)
	b.do("role", chromedp.SendKeys(chromedp.CSS("#r-name"), "soc-t1"), chromedp.SendKeys(chromedp.CSS("#r-filter"), "_source=e2e-app"))
	eval[bool](b, `(() => { for (const c of document.querySelectorAll('form[aria-label=Role] .checks input')) c.checked = ['search', 'triage'].includes(c.value); return true; })()`)
	b.do("save role", chromedp.Click(chromedp.CSS(`form[aria-label=Role] button[type=submit]`)))
	b.wait("role listed", `[...document.querySelectorAll('table[aria-label=Roles] tr')].some(tr => tr.textContent.startsWith('soc-t1') && tr.textContent.includes('_source=e2e-app'))`)
	b.shot("10b-settings-roles")

	b.do("notifications tab", chromedp.Click(chromedp.CSS("#set-tab-notifications")))
	b.click("send test", `document.querySelector('button[aria-label="Send a test to team-hook"]')`)
	deadline := time.Now().Add(15 * time.Second)
	for !eval[bool](b, `[...document.querySelectorAll('table[aria-label=Outbox] tr')].some(tr => tr.textContent.includes('Mamori test notification') && tr.textContent.includes('delivered'))`) {
		if time.Now().After(deadline) {
			b.shot("timeout-notification")
			t.Fatalf("the test notification was not shown as delivered (webhook hits: %d)", hook.hits.Load())
		}
		time.Sleep(300 * time.Millisecond)
		b.do("refresh outbox", chromedp.Click(chromedp.JSPath(buttonText(".page", "Refresh"))))
	}
	if hook.hits.Load() == 0 {
		t.Error("the webhook received nothing")
	}
	b.shot("10c-settings-notifications")

	b.do("lookups tab", chromedp.Click(chromedp.CSS("#set-tab-lookups")))
	b.wait("lookup form", `document.querySelector('#lk-csv')`)
	b.do("lookup name", chromedp.SendKeys(chromedp.CSS("#lk-name"), "assets"))
	b.setValue("#lk-csv", "host,owner,criticality\nweb-1,web team,high\nweb-2,shop,medium\n")
	b.wait("preview", `document.querySelector('#lk-csv').parentElement.textContent.includes('3 columns')`)
	b.do("upload", chromedp.Click(chromedp.CSS(`form[aria-label="Upload a lookup table"] button[type=submit]`)))
	b.wait("table listed", `[...document.querySelectorAll('table[aria-label="Lookup tables"] tr')].some(tr => tr.textContent.startsWith('assets') && tr.textContent.includes('criticality'))`)
	b.shot("10d-settings-lookups")
	b.click("delete table", `document.querySelector('button[aria-label="Delete table assets"]')`)
	b.do("confirm delete", chromedp.WaitVisible(chromedp.CSS("dialog[open] button.primary")), chromedp.Click(chromedp.CSS("dialog[open] button.primary")))
	b.wait("table gone", `document.querySelector('table[aria-label="Lookup tables"]') && !document.querySelector('button[aria-label="Delete table assets"]')`)
	b.checkConsole()
}

// testDashboards creates the overview dashboard, adds a panel and checks
// that the dashboard survives a reload.
func testDashboards(t *testing.T, b *browser) {
	t.Helper()
	b.do("dashboards", chromedp.Click(chromedp.CSS(`nav a[href="/dashboards"]`)))
	b.click("starter", buttonText(".dash-empty", "Create the overview dashboard"))
	b.wait("panels", `document.querySelectorAll('.dash-grid .panel').length === 8`)
	b.wait("events value", `/^[0-9][0-9,.\s]{4,}$/.test(document.querySelector('.panel .single-v')?.textContent || '')`)
	b.wait("time series", `[...document.querySelectorAll('.panel')].find(p => p.textContent.includes('Events over time'))?.querySelector('svg path.line')`)
	b.wait("bar", `[...document.querySelectorAll('.panel')].find(p => p.textContent.includes('Top sources'))?.querySelector('svg rect')`)
	b.wait("all done", `document.querySelector('.dash-head').textContent.includes('Updated') && !document.querySelector('.panel .spinner')`)
	b.shot("11-dashboard")
	b.click("add panel", buttonText(".dash-head", "+ Panel"))
	b.setValue("#pn-query", "failure | count by user")
	b.do("panel form", chromedp.SendKeys(chromedp.CSS("#pn-title"), "Failures by user"), chromedp.SetValue(chromedp.CSS("#pn-kind"), "bar"),
		chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")))
	b.wait("new panel", `[...document.querySelectorAll('.panel')].find(p => p.textContent.includes('Failures by user'))?.querySelectorAll('svg rect').length >= 5`)
	b.do("reload", chromedp.Navigate(b.base+"/dashboards"))
	b.wait("kept", `document.querySelectorAll('.dash-grid .panel').length === 9`)

	// From Search: a query becomes a panel of the dashboard.
	b.do("search page", chromedp.Click(chromedp.CSS(`nav a[href="/search"]`)))
	b.runQuery("* | timeslice 1m | count by _timeslice")
	b.waitDone("timeslice search")
	b.click("to dashboard", buttonText(".search-bar", "+ Dashboard"))
	b.wait("kind guessed", `document.querySelector('#td-kind')?.value === 'line'`)
	b.do("add to dashboard", chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")))
	b.click("open dashboard", `[...document.querySelectorAll('.toast a')].find(a => a.textContent === 'Open it')`)
	b.wait("ten panels", `document.querySelectorAll('.dash-grid .panel').length === 10 && document.querySelectorAll('.dash-grid .panel')[9].querySelector('svg path.line')`)
	b.checkConsole()
}
