package parse

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated tables in docs/fields.md")

const fieldsDocPath = "../../docs/fields.md"

// ecsTables are the mapping tables documented in docs/fields.md.
var ecsTables = []struct {
	format string
	fm     *fieldMap
}{
	{"syslog (header)", syslogMap},
	{"cef", cefMap},
	{"leef", leefMap},
	{"kv, logfmt", kvMap},
	{"netfilter (kernel messages in syslog)", netfilterMap},
	{"auditd", auditMap},
	{"windows (envelope)", windowsSystemMap},
	{"windows (event data, after winlog.event_data. or Event.EventData.)", windowsDataMap},
	{"cloudtrail", cloudtrailMap},
	{"json (application documents)", jsonMap},
}

var kindNames = [...]string{ecsText: "text", ecsIP: "IP address", ecsInt: "integer", ecsLower: "text, lower-cased"}

func renderTables() string {
	var b strings.Builder
	for _, t := range ecsTables {
		b.WriteString("\n### " + t.format + "\n\n| original | ECS | value must be |\n| --- | --- | --- |\n")
		for _, m := range t.fm.table {
			b.WriteString("| `" + m.from + "` | `" + m.to + "` | " + kindNames[m.kind] + " |\n")
		}
	}
	return b.String()
}

const (
	genBegin = "<!-- BEGIN GENERATED: go test ./internal/parse -run FieldsDoc -update -->"
	genEnd   = "<!-- END GENERATED -->"
)

// TestFieldsDoc keeps the mapping tables in docs/fields.md equal to the
// tables in the code.
func TestFieldsDoc(t *testing.T) {
	b, err := os.ReadFile(fieldsDocPath)
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	doc := string(b)
	i, j := strings.Index(doc, genBegin), strings.Index(doc, genEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-section markers", fieldsDocPath)
	}
	want := doc[:i+len(genBegin)] + "\n" + renderTables() + "\n" + doc[j:]
	if want == doc {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(fieldsDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the mapping tables; run go test ./internal/parse -run FieldsDoc -update", fieldsDocPath)
}
