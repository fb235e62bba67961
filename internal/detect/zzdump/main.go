package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

func main() {
	dir := os.Args[1]
	var gt struct {
		Stages     []struct{ ID string; Lines map[string][]int } `json:"stages"`
		Lookalikes []struct{ ID string; Lines map[string][]int } `json:"lookalikes"`
	}
	b, _ := os.ReadFile(dir + "/ground_truth.json")
	json.Unmarshal(b, &gt)
	formats := map[string]string{"winlogbeat_sysmon.ndjson": "json", "winlogbeat_security.ndjson": "json", "syslog_rfc3164.log": "syslog", "syslog_rfc5424.log": "syslog",
		"firewall_cef.log": "cef", "proxy_squid_access.log": "squid", "dns_bind_query.log": "bind", "cloudtrail.ndjson": "json", "exchange_app.ndjson": "json"}
	want := map[string]map[int]string{}
	all := append(gt.Stages, gt.Lookalikes...)
	for _, s := range all {
		if len(os.Args) > 2 && !strings.Contains(os.Args[2], s.ID) {
			continue
		}
		for f, ls := range s.Lines {
			if want[f] == nil {
				want[f] = map[int]string{}
			}
			for i, l := range ls {
				if i < 3 {
					want[f][l] = s.ID
				}
			}
		}
	}
	for f, m := range want {
		fh, _ := os.Open(dir + "/" + f)
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			n++
			id, ok := m[n]
			if !ok {
				continue
			}
			format := formats[f]
			var p parse.Parser
			if format != "json" {
				p, _ = parse.Lookup(format)
				format = "text"
			}
			evs, _, err := ingest.DecodeLines(strings.NewReader(sc.Text()+"\n"), ingest.LineOptions{Format: format, Parser: p, Now: func() int64 { return 1 }})
			fmt.Printf("== %s %s:%d err=%v\n", id, f, n, err)
			for _, e := range evs {
				fmt.Printf("  time=%d host=%q\n", e.Time, e.Host)
				for _, fl := range e.Fields {
					if strings.HasPrefix(fl.Name, "agent.") || strings.HasPrefix(fl.Name, "ecs.") || strings.Contains(fl.Name, "guid") || strings.HasPrefix(fl.Name,"host.os") {
						continue
					}
					v := fl.Value
					if len(v) > 150 { v = v[:150] }
					fmt.Printf("  %s=%s\n", fl.Name, v)
				}
			}
		}
		fh.Close()
	}
}
