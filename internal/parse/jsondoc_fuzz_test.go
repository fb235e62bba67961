package parse

import "testing"

func FuzzJSONDoc(f *testing.F) {
	fuzzParser(f, "json", `{"ts":"2018-01-21T15:08:54.970Z","level":"info","host":"api-06","src_ip":"1.2.3.4","a":{"b":[1,2]}}`,
		winlogbeat4624, cloudtrailRecord)
}
