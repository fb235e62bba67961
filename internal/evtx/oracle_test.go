package evtx

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// oraclePython finds a Python with python-evtx (apt-get install python3-evtx).
func oraclePython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import Evtx").Run() == nil {
			return py
		}
	}
	t.Skip("python3-evtx is not installed (apt-get install python3-evtx); no oracle")
	return ""
}

type oracleRecord struct {
	ID   string            `json:"id"`
	EID  string            `json:"eid"`
	Ch   string            `json:"ch"`
	Data map[string]string `json:"data"`
}

// normalizeOracle maps python-evtx renderings to evtx_dump's where they
// differ by convention only: GUIDs lose their braces, hexadecimal numbers
// their zero padding (Sigma rules write GrantedAccess: '0x1fffff').
func normalizeOracle(v string) string {
	if len(v) == 38 && v[0] == '{' && v[37] == '}' {
		return strings.ToUpper(v[1:37])
	}
	if strings.HasPrefix(v, "0x") && len(v) > 3 {
		h := strings.TrimLeft(v[2:], "0")
		if h == "" {
			h = "0"
		}
		if _, err := strconv.ParseUint(h, 16, 64); err == nil {
			return "0x" + h
		}
	}
	return v
}

// TestOracle compares every record of the sample files with python-evtx.
func TestOracle(t *testing.T) {
	files := devFiles(t)
	py := oraclePython(t)
	if testing.Short() && len(files) > 10 {
		files = files[:10]
	}
	records, values := 0, 0
	for _, f := range files {
		out, err := exec.Command(py, "testdata/oracle.py", f).Output()
		if err != nil {
			t.Fatalf("oracle on %s: %v", f, err)
		}
		var want []oracleRecord
		if err := json.Unmarshal(out, &want); err != nil {
			t.Fatal(err)
		}
		got, errs := readAll(t, f)
		if len(errs) > 0 {
			t.Errorf("%s: %v", f, errs)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, oracle %d", f, len(got), len(want))
		}
		for i, w := range want {
			g := &got[i]
			if strconv.FormatUint(g.RecordID, 10) != w.ID {
				t.Errorf("%s record %d: id %d, oracle %s", f, i, g.RecordID, w.ID)
			}
			ev := &g.Event
			if v, _ := ev.Get("Event.System.EventID"); v != w.EID {
				t.Errorf("%s #%s: EventID %q, oracle %q", f, w.ID, v, w.EID)
			}
			if v, _ := ev.Get("Event.System.Channel"); v != w.Ch {
				t.Errorf("%s #%s: Channel %q, oracle %q", f, w.ID, v, w.Ch)
			}
			for name, wv := range w.Data {
				values++
				gv, ok := ev.Get("Event.EventData." + name)
				if !ok || gv != normalizeOracle(wv) {
					t.Errorf("%s #%s: EventData.%s = %q, oracle %q", f, w.ID, name, gv, wv)
				}
			}
			records++
		}
	}
	t.Logf("%d files, %d records, %d EventData values agree with python-evtx", len(files), records, values)
}
