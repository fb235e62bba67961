package detect

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/detect/sigma"
	"github.com/mamori/mamori/internal/event"
)

// sigmaHQDirs are the SigmaHQ rule folders found (none when absent).
func sigmaHQDirs() []string {
	var out []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting"} {
		p := filepath.Join(sharedTestdata, "sigma/sigmahq", d)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ruleSourceDir writes a rule folder with the shapes the detector's rule
// sources must keep apart: a file of several rules, a rule id found in two
// files, a filter, a correlation, a broken file, a rule that does not
// compile and a hidden folder.
func ruleSourceDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a_multi.yml", `title: Login failure
id: rs-login
status: test
tags: [attack.credential_access, attack.t1110]
logsource: {product: linux}
detection:
  sel: {action: login, outcome: failure}
  condition: sel
level: high
---
title: Logout
id: rs-logout
logsource: {product: linux}
detection:
  sel: {action: logout}
  condition: sel
level: low
`)
	write("b_dup.yml", `title: Login failure again (same id, later file)
id: rs-login
logsource: {product: linux}
detection:
  sel: {action: sudo}
  condition: sel
level: medium
`)
	write("c_filter.yml", `title: Not the build host
id: rs-filter
logsource: {product: linux}
filter:
  rules: [rs-logout]
  selection: {host.name: build}
  condition: selection
`)
	write("d_corr.yml", `title: Many failures
id: rs-corr
correlation:
  type: event_count
  rules: [rs-login]
  group-by: [user.name]
  timespan: 5m
  condition: {gte: 3}
  generate: true
level: high
`)
	write("e_broken.yml", "title: [broken\n")
	write("e_modifier.yml", `title: Unknown modifier (a compile issue)
id: rs-mod
logsource: {product: linux}
detection:
  sel: {action|nosuchmodifier: x}
  condition: sel
`)
	write("sub/f.yaml", `title: Exec
id: rs-exec
logsource: {product: linux}
detection:
  sel: {action: exec}
  condition: sel
level: medium
`)
	write(".hidden/g.yml", `title: Hidden
id: rs-hidden
logsource: {product: linux}
detection:
  sel: {action: hidden}
  condition: sel
`)
	return dir
}

// TestLoadRuleFilesSameAsLoadDir: the detector's loader reads the same
// rules and issues as sigma.LoadDir (it keeps the files' bytes besides).
func TestLoadRuleFilesSameAsLoadDir(t *testing.T) {
	dirs := append([]string{ruleSourceDir(t), "../../content/rules", "sigma/testdata"}, sigmaHQDirs()...)
	for _, dir := range dirs {
		want, wantIss, err := sigma.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		files, err := loadRuleFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []*sigma.Rule
		var gotIss []sigma.LoadIssue
		for _, f := range files {
			got = append(got, f.Rules...)
			gotIss = append(gotIss, f.Issues...)
			if data, err := os.ReadFile(f.Path); err != nil || string(data) != string(f.Data) {
				t.Errorf("%s: bytes kept differ from the file (%v)", f.Path, err)
			}
		}
		if len(files) != want.Files || !reflect.DeepEqual(got, want.Rules) || !reflect.DeepEqual(gotIss, wantIss) {
			t.Errorf("%s: %d files, %d rules, %d issues; LoadDir: %d, %d, %d", dir, len(files), len(got), len(gotIss), want.Files, len(want.Rules), len(wantIss))
		}
	}
	if _, err := loadRuleFiles(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("a missing folder gave no error")
	}
}

// TestPackRuleTextKeepsValues: packing the rules' text changes no value,
// and parsing the kept bytes again gives the rules loaded.
func TestPackRuleTextKeepsValues(t *testing.T) {
	dirs := append([]string{ruleSourceDir(t), "../../content/rules"}, sigmaHQDirs()...)
	var files []loadedFile
	for _, dir := range dirs {
		fs, err := loadRuleFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	var want []*sigma.Rule
	for _, f := range files {
		rs, _ := sigma.ParseFile(f.Path, f.Data)
		want = append(want, rs...)
	}
	src, rules, meta := newRuleSources(files) // packs
	if !reflect.DeepEqual(rules, want) {
		t.Fatal("packed rules differ from the parsed ones")
	}
	again, err := src.parseAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Fatal("rules parsed again from the kept bytes differ")
	}
	for i, m := range meta {
		r := want[i]
		if m.ID != r.ID || m.Title != r.Title || m.Level != r.Level || m.Status != r.Status || m.Path != r.Path ||
			!slices.Equal(m.Tags, r.Tags) || m.Correlation != r.Correlation {
			t.Fatalf("meta %d = %+v, rule %+v", i, m, r)
		}
		one, err := src.parseFile(int(m.file))
		if err != nil || !reflect.DeepEqual(one[m.doc], r) {
			t.Fatalf("rule %d (%s) parsed alone differs (%v)", i, r.ID, err)
		}
	}
}

func linuxEvent(action string) event.Event {
	return event.Event{Raw: "sample " + action, Time: 1, Fields: []event.Field{{Name: "action", Value: action},
		{Name: "outcome", Value: "failure"}, {Name: "host.os.type", Value: "linux"}, {Name: "host.name", Value: "build"}}}
}

func ruleIDs(sigs []Signal) []string {
	var out []string
	for _, s := range sigs {
		out = append(out, s.RuleID+"/"+s.Title)
	}
	sort.Strings(out)
	return out
}

// TestDetectorRuleSources: the rule list, the enable switch, retro-hunt
// rules, uploads and issues on a folder of tricky shapes, against what
// sigma.LoadDir reads from it.
func TestDetectorRuleSources(t *testing.T) {
	dir := ruleSourceDir(t)
	state := t.TempDir()
	d, err := Open(Options{RuleDirs: []string{dir}, StateDir: state, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	rs, _, err := sigma.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	infos := d.Rules()
	if len(infos) != len(rs.Rules) {
		t.Fatalf("%d rules listed, LoadDir reads %d", len(infos), len(rs.Rules))
	}
	for i, ri := range infos {
		r := rs.Rules[i]
		wantCompiled := !r.Correlation && r.ID != "rs-filter" && r.ID != "rs-mod"
		if ri.ID != r.ID || ri.Title != r.Title || ri.Level != r.Level || ri.Status != r.Status || ri.Path != r.Path ||
			!slices.Equal(ri.Tags, r.Tags) || !slices.Equal(ri.Tactics, TacticsOf(r.Tags)) || !ri.Enabled || ri.Uploaded ||
			ri.Compiled != wantCompiled {
			t.Errorf("rule %d: %+v, loaded %+v", i, ri, r)
		}
	}
	issues := d.Issues()
	if len(issues) != 2 {
		t.Fatalf("issues %v: want the broken file's and the unknown modifier's", issues)
	}
	events := []event.Event{linuxEvent("login"), linuxEvent("logout"), linuxEvent("sudo"), linuxEvent("exec")}
	all := ruleIDs(d.Detect(events))
	want := []string{"rs-exec/Exec", "rs-login/Login failure", "rs-login/Login failure again (same id, later file)"}
	if !slices.Equal(all, want) { // rs-logout is filtered out (host.name build)
		t.Fatalf("signals %v, want %v", all, want)
	}
	// Off and on again: the rules parsed again from the kept bytes.
	if err := d.SetEnabled("rs-login", false); err != nil {
		t.Fatal(err)
	}
	if got := ruleIDs(d.Detect(events)); !slices.Equal(got, []string{"rs-exec/Exec"}) {
		t.Fatalf("with rs-login off: %v", got)
	}
	if err := d.SetEnabled("rs-filter", false); err != nil {
		t.Fatal(err)
	}
	if got := ruleIDs(d.Detect(events)); !slices.Equal(got, []string{"rs-exec/Exec", "rs-logout/Logout"}) {
		t.Fatalf("with the filter off: %v", got)
	}
	for _, id := range []string{"rs-login", "rs-filter"} {
		if err := d.SetEnabled(id, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := ruleIDs(d.Detect(events)); !slices.Equal(got, all) {
		t.Fatalf("on again: %v, want %v", got, all)
	}
	got := d.Rules()
	for i := range got {
		got[i].Hits = 0 // counted since
	}
	if !reflect.DeepEqual(got, infos) {
		t.Errorf("rule list after switches:\n%+v\nat open:\n%+v", got, infos)
	}
	if got := d.Issues(); !reflect.DeepEqual(got, issues) {
		t.Errorf("issues after recompiles: %d, at open %d", len(got), len(issues))
	}
	if err := d.SetEnabled("rs-nope", false); err == nil {
		t.Error("unknown rule enabled")
	}
	// Retro-hunt: the rule with the id in the last file holding it; the
	// second rule of a file of several.
	for _, c := range []struct{ id, hit string }{{"rs-login", "sudo"}, {"rs-logout", "logout"}, {"rs-exec", "exec"}} {
		rh, err := d.SingleRule(c.id)
		if err != nil {
			t.Fatal(err)
		}
		var hits []string
		for i := range events {
			if len(rh.Match(&events[i])) > 0 {
				hits = append(hits, events[i].Fields[0].Value)
			}
		}
		if !slices.Equal(hits, []string{c.hit}) {
			t.Errorf("SingleRule(%s) hits %v, want %s", c.id, hits, c.hit)
		}
	}
	if _, err := d.SingleRule("rs-hidden"); err == nil {
		t.Error("a rule of a hidden folder was loaded")
	}
	if _, err := d.SingleRule("rs-corr"); err == nil {
		t.Error("a correlation rule compiled for a retro-hunt")
	}
	// Uploads: listed, compiled, matched, deleted.
	up := `title: Uploaded
id: rs-up
logsource: {product: linux}
detection:
  sel: {action: upload}
  condition: sel
level: high
`
	if _, err := d.PutRule([]byte(up)); err != nil {
		t.Fatal(err)
	}
	ri := d.Rules()
	if last := ri[len(ri)-1]; last.ID != "rs-up" || !last.Uploaded || !last.Compiled {
		t.Fatalf("uploaded rule listed as %+v", last)
	}
	if err := d.SetEnabled("rs-exec", false); err != nil {
		t.Fatal(err)
	}
	evs := append(slices.Clone(events), linuxEvent("upload"))
	if got := ruleIDs(d.Detect(evs)); !slices.Equal(got, []string{"rs-login/Login failure", "rs-login/Login failure again (same id, later file)", "rs-up/Uploaded"}) {
		t.Fatalf("with the upload: %v", got)
	}
	if rh, err := d.SingleRule("rs-up"); err != nil || len(rh.Match(&evs[len(evs)-1])) != 1 {
		t.Fatalf("SingleRule of the upload: %v", err)
	}
	if err := d.DeleteRule("rs-up"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SingleRule("rs-up"); err == nil {
		t.Error("deleted rule still found")
	}
	// A restart keeps the disabled rule off.
	d2, err := Open(Options{RuleDirs: []string{dir}, StateDir: state, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDs(d2.Detect(events)); slices.Contains(got, "rs-exec/Exec") || len(got) != 2 {
		t.Fatalf("after a restart: %v", got)
	}
}

// TestDetectorSigmaHQSameMatches: with every SigmaHQ rule and the content
// pack, the live engine (slim rules, compiled from the kept bytes) fires
// the same rules, with the same metadata, as an engine compiled from
// sigma.LoadDir's rules, on the Sigma dev events; and again after a rule
// is turned off and on (parsed again). SingleRule agrees with the
// reference on every rule that fired.
func TestDetectorSigmaHQSameMatches(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the SigmaHQ rule set three times")
	}
	hq := sigmaHQDirs()
	if len(hq) == 0 {
		t.Skip("SigmaHQ rules absent")
	}
	dirs := append(hq, "../../content/rules")
	d, err := Open(Options{RuleDirs: dirs, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	var ref []*sigma.Rule
	byID := map[string]*sigma.Rule{} // the last rule of each id, as SingleRule takes
	_, own, _ := LoadStatefulDir(dirs...)
	for _, dir := range dirs {
		rs, _, err := sigma.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.Rules {
			if !own[r.Path] {
				byID[r.ID] = r
				if !r.Correlation {
					ref = append(ref, r)
				}
			}
		}
	}
	refEng, _, err := sigma.Compile(ref, sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var events []event.Event
	for _, b := range liveBodies(t) {
		events = append(events, b.events(t, func() int64 { return 1 })...)
	}
	key := func(r *sigma.Rule) string {
		return r.ID + "|" + r.Name + "|" + r.Title + "|" + r.Level + "|" + strings.Join(r.Tags, ",")
	}
	matches := func(eng *sigma.Engine, skip string) []string {
		var out []string
		for i, ms := range matchAll(eng, events) {
			for _, r := range ms {
				if r.ID != skip {
					out = append(out, strconv.Itoa(i)+"#"+key(r))
				}
			}
		}
		sort.Strings(out)
		return out
	}
	want := matches(refEng, "")
	if len(want) == 0 {
		t.Fatal("no rule fired on the dev events")
	}
	if got := matches(d.eng, ""); !slices.Equal(got, want) {
		t.Fatalf("live engine: %d matches, reference %d", len(got), len(want))
	}
	fired := map[string]bool{}
	for _, m := range want {
		_, k, _ := strings.Cut(m, "#")
		id, _, _ := strings.Cut(k, "|")
		fired[id] = true
	}
	off := slices.Sorted(func(yield func(string) bool) {
		for id := range fired {
			if !yield(id) {
				return
			}
		}
	})[0]
	if err := d.SetEnabled(off, false); err != nil {
		t.Fatal(err)
	}
	if got := matches(d.eng, ""); !slices.Equal(got, matches(refEng, off)) {
		t.Fatalf("with %s off: %d matches", off, len(got))
	}
	if err := d.SetEnabled(off, true); err != nil {
		t.Fatal(err)
	}
	if got := matches(d.eng, ""); !slices.Equal(got, want) {
		t.Fatalf("on again: %d matches, want %d", len(got), len(want))
	}
	for id := range fired {
		rh, err := d.SingleRule(id)
		if err != nil {
			t.Fatal(err)
		}
		one, _, err := sigma.Compile([]*sigma.Rule{byID[id]}, sigma.Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, wantN := 0, 0
		for i := range events {
			n += len(rh.Match(&events[i]))
			one.Match(&events[i], func(sigma.Match) { wantN++ })
		}
		if n != wantN {
			t.Errorf("SingleRule(%s): %d matches, reference %d", id, n, wantN)
		}
	}
}

// TestDetectorSwitchDuringUpload: a rule switched off while an upload
// reloads the rule set stays off. The reload has read state.json when the
// switch comes; before cmu, the switch was saved and compiled at once and
// the reload then installed the stale state, turning the rule on again.
func TestDetectorSwitchDuringUpload(t *testing.T) {
	dir := ruleSourceDir(t)
	d, err := Open(Options{RuleDirs: []string{dir}, StateDir: t.TempDir(), SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	switched := make(chan error, 1)
	reloadReadHook = func() {
		reloadReadHook = nil
		go func() { switched <- d.SetEnabled("rs-exec", false) }()
		select { // the switch waits for the reload now; give it time to finish if it does not
		case err := <-switched:
			switched <- err
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer func() { reloadReadHook = nil }()
	up := "title: Up\nid: rs-up\nlogsource: {product: linux}\ndetection:\n  sel: {action: up}\n  condition: sel\n"
	if _, err := d.PutRule([]byte(up)); err != nil {
		t.Fatal(err)
	}
	if err := <-switched; err != nil {
		t.Fatal(err)
	}
	for _, ri := range d.Rules() {
		if ri.ID == "rs-exec" && (ri.Enabled || ri.Compiled) {
			t.Errorf("rs-exec switched off during an upload: enabled %v, compiled %v", ri.Enabled, ri.Compiled)
		}
	}
	if got := ruleIDs(d.Detect([]event.Event{linuxEvent("exec"), linuxEvent("up")})); slices.Contains(got, "rs-exec/Exec") || len(got) != 1 {
		t.Errorf("signals after the switch: %v", got)
	}
}

// TestDetectorRulesConcurrent: rules turned off and on while uploads
// reload the rule set and events are detected (run with -race); at the
// end the live engine holds exactly the enabled rules.
func TestDetectorRulesConcurrent(t *testing.T) {
	dir := ruleSourceDir(t)
	d, err := Open(Options{RuleDirs: []string{dir}, StateDir: t.TempDir(), SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	events := []event.Event{linuxEvent("login"), linuxEvent("logout"), linuxEvent("exec")}
	done := make(chan struct{})
	errs := make(chan error, 3)
	go func() {
		for i := 0; i < 20; i++ {
			if err := d.SetEnabled("rs-exec", i%2 == 1); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	go func() {
		for i := 0; i < 10; i++ {
			up := "title: Up\nid: rs-up" + strconv.Itoa(i) + "\nlogsource: {product: linux}\ndetection:\n  sel: {action: up}\n  condition: sel\n"
			if _, err := d.PutRule([]byte(up)); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	go func() {
		for {
			select {
			case <-done:
				errs <- nil
				return
			default:
				d.Detect(events)
				d.Rules()
			}
		}
	}()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	<-errs
	// The last switch (i = 19) turned rs-exec on: no upload's reload may
	// undo it, in memory or on disk.
	enabled := func(d *Detector) map[string]bool {
		on := map[string]bool{}
		for _, ri := range d.Rules() {
			on[ri.ID] = ri.Enabled
		}
		return on
	}
	if on := enabled(d); !on["rs-exec"] {
		t.Errorf("the last switch turned rs-exec on, the detector has it off: %v", on)
	}
	d2, err := Open(Options{RuleDirs: []string{dir}, StateDir: d.opts.StateDir, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := enabled(d), enabled(d2); !maps.Equal(a, b) {
		t.Errorf("rules enabled after reopening the state: %v, before: %v", b, a)
	}
	if err := d.SetEnabled("rs-exec", false); err != nil {
		t.Fatal(err)
	}
	on := map[string]bool{}
	for _, ri := range d.Rules() {
		if ri.Compiled != (ri.Enabled && ri.ID != "rs-filter" && ri.ID != "rs-corr" && ri.ID != "rs-mod") {
			t.Errorf("rule %s: enabled %v, compiled %v", ri.ID, ri.Enabled, ri.Compiled)
		}
		on[ri.ID] = ri.Enabled
	}
	if on["rs-exec"] || len(on) != 6+10 {
		t.Errorf("rules at the end: %v", on)
	}
	if got := ruleIDs(d.Detect([]event.Event{linuxEvent("exec"), linuxEvent("up")})); len(got) != 10 || slices.Contains(got, "rs-exec/Exec") {
		t.Errorf("signals at the end: %v", got)
	}
}
