package sigma

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Skip reasons: the only reasons a rule is left out. Each is documented in
// docs/sigma.md.
const (
	// ReasonPlaceholder: the expand modifier names a value list that is not
	// configured (Options.Placeholders or the pipeline).
	ReasonPlaceholder = "unresolved-placeholder"
	// ReasonRegex: the regular expression uses syntax RE2 does not have
	// (look-around, back-references, possessive quantifiers).
	ReasonRegex = "unsupported-regex"
	// ReasonModifier: a modifier that is not in the Sigma specification.
	ReasonModifier = "unknown-modifier"
	// ReasonCorrelation: correlation rules need the stream engine's state.
	ReasonCorrelation = "correlation-rule"
	// ReasonAggregation: a deprecated v1 aggregation condition ("| count()").
	ReasonAggregation = "aggregation-condition"
	// ReasonInvalid: the rule is not valid Sigma (YAML or structure error,
	// unknown search in the condition, bad value for a modifier).
	ReasonInvalid = "invalid-rule"
)

// SkipError says why a rule cannot be compiled.
type SkipError struct {
	Reason    string
	Detail    string
	Line, Col int
}

func (e *SkipError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%d:%d: %s: %s", e.Line, e.Col, e.Reason, e.Detail)
	}
	return e.Reason + ": " + e.Detail
}

// LoadIssue is a rule (or file) that was not compiled, and why.
type LoadIssue struct {
	Path   string
	RuleID string
	Title  string
	Line   int
	Col    int
	Reason string // one of the Reason constants
	Detail string
}

func (li LoadIssue) String() string {
	pos := li.Path
	if li.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", li.Path, li.Line, li.Col)
	}
	return fmt.Sprintf("%s: %s (%s): %s", pos, li.Reason, li.Title, li.Detail)
}

func issueFor(r *Rule, err error) LoadIssue {
	li := LoadIssue{Path: r.Path, RuleID: r.ID, Title: r.Title, Line: r.Line, Reason: ReasonInvalid, Detail: err.Error()}
	var se *SkipError
	var pe *Error
	switch {
	case errors.As(err, &se):
		li.Reason, li.Detail = se.Reason, se.Detail
		if se.Line > 0 {
			li.Line, li.Col = se.Line, se.Col
		}
	case errors.As(err, &pe):
		li.Line, li.Col, li.Detail = pe.Line, pe.Col, pe.Msg
	}
	return li
}

// RuleSet is the rules loaded from files.
type RuleSet struct {
	Rules []*Rule
	Files int
}

// RuleFiles lists the .yml and .yaml files under the given directories
// (or single files) in the order LoadDir reads them, skipping hidden
// folders below each root.
func RuleFiles(paths ...string) ([]string, error) {
	var files []string
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := strings.ToLower(filepath.Ext(p)); ext == ".yml" || ext == ".yaml" {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load rules: %w", err)
		}
	}
	sort.Strings(files)
	return files, nil
}

// File is one rule file as read and parsed: its path, its bytes, its
// rules (Path set) and its problems.
type File struct {
	Path   string
	Data   []byte
	Rules  []*Rule
	Issues []LoadIssue
}

// LoadFiles reads and parses every .yml and .yaml file under the given
// directories (or single files), in RuleFiles' order, in parallel (YAML
// parsing dominates loading). The error is for I/O failures only; files
// that do not parse come back with issues.
func LoadFiles(paths ...string) ([]File, error) {
	names, err := RuleFiles(paths...)
	if err != nil {
		return nil, err
	}
	out := make([]File, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				data, err := os.ReadFile(names[i]) // #nosec G304 -- rule files come from the operator's rule folders
				if err != nil {
					errs[i] = fmt.Errorf("load rules: %w", err)
					continue
				}
				rules, issues := ParseFile(names[i], data)
				out[i] = File{Path: names[i], Data: data, Rules: rules, Issues: issues}
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LoadDir reads every .yml and .yaml file under the given directories (or
// single files) in a stable order. Files that do not parse are reported as
// issues, with positions; the error is for I/O failures only.
func LoadDir(paths ...string) (*RuleSet, []LoadIssue, error) {
	files, err := LoadFiles(paths...)
	if err != nil {
		return nil, nil, err
	}
	rs := &RuleSet{Files: len(files)}
	var issues []LoadIssue
	for _, f := range files {
		rs.Rules = append(rs.Rules, f.Rules...)
		issues = append(issues, f.Issues...)
	}
	return rs, issues, nil
}

// ParseFile parses the text of the rule file at path: its rules (with
// their Path set) and its problems as load issues.
func ParseFile(path string, data []byte) ([]*Rule, []LoadIssue) {
	rules, err := ParseRule(data)
	for _, r := range rules {
		r.Path = path
	}
	var issues []LoadIssue
	var el ErrorList
	if errors.As(err, &el) {
		for _, e := range el {
			issues = append(issues, LoadIssue{Path: path, Line: e.Line, Col: e.Col, Reason: ReasonInvalid, Detail: e.Msg})
		}
	} else if err != nil {
		issues = append(issues, LoadIssue{Path: path, Reason: ReasonInvalid, Detail: err.Error()})
	}
	return rules, issues
}
