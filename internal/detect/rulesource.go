package detect

import (
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/mamori/mamori/internal/detect/sigma"
)

// The detector keeps the text of its Sigma rule files rather than the
// parsed rules (#5): a parsed SigmaHQ rule set is ~200k heap objects, most
// of them pointers, that the garbage collector marks at every cycle, for
// the few moments that need a rule's detection (a recompile after a rule
// is turned on or off, a retro-hunt's single rule). The text is one
// pointer-free slab, parsed again when needed (the same bytes parse to the
// same rules); the live engine keeps slim copies of the rules
// (sigma.Options.SlimRules) and the rule list keeps ruleMeta.

// ruleSources is the text of the rule files the detector loaded Sigma
// rules from, in load order. Immutable once built.
type ruleSources struct {
	data  []byte // every file's bytes, one after the other
	files []ruleFile
}

// ruleFile is one file of a ruleSources: its path, its bytes
// (data[off:end]) and the number of rules it parsed to.
type ruleFile struct {
	path     string
	off, end int
	rules    int
}

// ruleMeta is what the rule list, the enable switch and the compile
// filter need of a loaded rule; file and doc locate it in the sources
// (the doc-th rule of the file-th file).
type ruleMeta struct {
	ID, Title, Level, Status, Path string
	Tags                           []string
	Correlation                    bool
	file, doc                      int32
}

// loadedFile is one rule file as read and parsed.
type loadedFile = sigma.File

// loadRuleFiles reads and parses the rule files under paths, keeping each
// file's bytes with its rules (sigma.LoadFiles, LoadDir's walk and order).
func loadRuleFiles(paths ...string) ([]loadedFile, error) { return sigma.LoadFiles(paths...) }

// newRuleSources keeps the files that hold at least one rule, and returns
// their rules in order with each one's ruleMeta.
func newRuleSources(files []loadedFile) (*ruleSources, []*sigma.Rule, []ruleMeta) {
	src := &ruleSources{}
	var all []*sigma.Rule
	for _, f := range files {
		all = append(all, f.Rules...)
	}
	packRuleText(all)
	size, n := 0, 0
	for _, f := range files {
		if len(f.Rules) > 0 {
			size += len(f.Data)
			n += len(f.Rules)
		}
	}
	src.data = make([]byte, 0, size)
	rules := make([]*sigma.Rule, 0, n)
	meta := make([]ruleMeta, 0, n)
	for _, f := range files {
		if len(f.Rules) == 0 {
			continue
		}
		fi := int32(len(src.files)) // #nosec G115 -- a rule set has far fewer than 2^31 files
		src.files = append(src.files, ruleFile{path: f.Rules[0].Path, off: len(src.data), end: len(src.data) + len(f.Data), rules: len(f.Rules)})
		src.data = append(src.data, f.Data...)
		for j, r := range f.Rules {
			rules = append(rules, r)
			meta = append(meta, ruleMeta{ID: r.ID, Title: r.Title, Level: r.Level, Status: r.Status, Path: r.Path, Tags: r.Tags,
				Correlation: r.Correlation, file: fi, doc: int32(j)}) // #nosec G115 -- a file holds far fewer than 2^31 rules
		}
	}
	return src, rules, meta
}

// parseFile parses the i-th file again.
func (s *ruleSources) parseFile(i int) ([]*sigma.Rule, error) {
	f := s.files[i]
	rules, _ := sigma.ParseFile(f.path, s.data[f.off:f.end])
	if len(rules) != f.rules {
		return nil, fmt.Errorf("rule file %s parsed to %d rules, %d when loaded", f.path, len(rules), f.rules)
	}
	return rules, nil
}

// parseAll parses every file again: the rules in load order.
func (s *ruleSources) parseAll() ([]*sigma.Rule, error) {
	per := make([][]*sigma.Rule, len(s.files))
	errs := make([]error, len(s.files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				per[i], errs[i] = s.parseFile(i)
			}
		}()
	}
	for i := range s.files {
		next <- i
	}
	close(next)
	wg.Wait()
	n := 0
	for i := range per {
		if errs[i] != nil {
			return nil, errs[i]
		}
		n += len(per[i])
	}
	out := make([]*sigma.Rule, 0, n)
	for _, rs := range per {
		out = append(out, rs...)
	}
	packRuleText(out)
	return out, nil
}

// packRuleText moves the text of the rules' descriptive fields (every
// string but the detection's, and the tags and references lists) into one
// string and one list, equal values shared: a parsed rule holds each as a
// string of its own (~15 a rule), which the live engine's slim rules keep
// and the collector marks one by one. Detections are left as they are.
func packRuleText(rules []*sigma.Rule) {
	var buf []byte
	at := map[string][2]int{} // value -> its span in buf
	nlist := 0
	each := func(r *sigma.Rule, f func(*string)) {
		for _, p := range []*string{&r.ID, &r.Name, &r.Title, &r.Status, &r.Level, &r.Description, &r.Author, &r.Date, &r.Modified,
			&r.LogSource.Product, &r.LogSource.Category, &r.LogSource.Service, &r.LogSource.Definition, &r.Path} {
			f(p)
		}
		for i := range r.Tags {
			f(&r.Tags[i])
		}
		for i := range r.References {
			f(&r.References[i])
		}
	}
	for _, r := range rules {
		each(r, func(p *string) {
			if _, ok := at[*p]; !ok && *p != "" {
				at[*p] = [2]int{len(buf), len(buf) + len(*p)}
				buf = append(buf, *p...)
			}
		})
		nlist += len(r.Tags) + len(r.References)
	}
	text := string(buf)
	lists := make([]string, 0, nlist)
	for _, r := range rules {
		each(r, func(p *string) {
			if *p != "" {
				sp := at[*p]
				*p = text[sp[0]:sp[1]]
			}
		})
		if r.Tags != nil {
			lists = append(lists, r.Tags...)
			r.Tags = slices.Clip(lists[len(lists)-len(r.Tags):])
		}
		if r.References != nil {
			lists = append(lists, r.References...)
			r.References = slices.Clip(lists[len(lists)-len(r.References):])
		}
	}
}
