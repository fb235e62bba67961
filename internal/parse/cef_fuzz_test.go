package parse

import "testing"

func FuzzCEF(f *testing.F) {
	fuzzParser(f, "cef",
		`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232`,
		`CEF:0|Ven\|dor|Prod\\uct|1|sig|Name|5|msg=a \= b \\ c\nd fname=My File.doc suser=alice`,
		`<14>Jan 22 00:21:13 pa-edge01 CEF:0|Palo Alto Networks|PAN-OS|8.0.6|deny|TRAFFIC|3|rt=1516548073860 src=45.125.239.3 cs4Label=Source Zone cs4=untrust`,
		`CEF:0|||||||=== =x x= \`,
	)
}
