package parse

import "testing"

func FuzzKV(f *testing.F) {
	fuzzParser(f, "kv",
		`date=2024-05-01 srcip=10.1.1.1 action="accept" msg="a \"quoted\" word"`,
		`x user=alice note='single quoted' t=2024-05-01T10:00:00Z`,
		`a=1 b= c="unterminated`,
	)
}

func FuzzLogfmt(f *testing.F) {
	fuzzParser(f, "logfmt",
		`level=info ts=2018-01-21T15:02:21.211Z caller=textfile.go:227 msg="updated metrics" debug`,
		`a="\\" b=\ c`,
	)
}
