package query

import (
	"context"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestExplainSubquery checks that Explain runs subqueries and applies the
// scope, so the plan shows the filter the search will really use.
func TestExplainSubquery(t *testing.T) {
	evs := []event.Event{
		{Time: 1e9, Raw: "alert ip=10.0.0.2", Host: "ids", Partition: "sec"},
		{Time: 2e9, Raw: "login from 10.0.0.2", Host: "web", Partition: "main"},
	}
	src := NewMemSource(evs, MemOptions{})
	q := MustParse(`_host=web [subquery: alert | parse "ip=*" as ip | compose ip keywords]`)
	p, err := Explain(context.Background(), src, q, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Query, `"10.0.0.2"`) {
		t.Errorf("Explain query = %s, want the subquery's value", p.Query)
	}
	scope := MustParse("_partition=main").Search
	p, err = Explain(context.Background(), src, q, Options{Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.Query, `"10.0.0.2"`) || !strings.Contains(p.Query, "_partition=main") {
		t.Errorf("scoped Explain query = %s, want the scope and no out-of-scope value", p.Query)
	}
	// Event by event (live tail) a subquery cannot run: a clear error.
	if _, err := q.Tail(Options{}); err == nil || !strings.Contains(err.Error(), "subqueries run only in searches") {
		t.Errorf("Tail of a subquery: %v", err)
	}
}
