package parse

import "testing"

func FuzzCloudTrail(f *testing.F) {
	fuzzParser(f, "cloudtrail", cloudtrailRecord,
		`{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{"type":"Root","arn":"/"},"sourceIPAddress":"::"}`)
}

func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventSource":"a","eventName":"b"},{"x":[1,{"y":2}]}]}`))
	f.Add([]byte(`[1,"a",{}]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		recs, err := SplitBatch(doc)
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		for _, r := range recs {
			if len(r) == 0 {
				t.Fatalf("SplitBatch(%q): empty record", doc)
			}
		}
	})
}
