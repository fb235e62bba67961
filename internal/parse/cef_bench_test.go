package parse

import "testing"

var benchCEF = []string{
	`<14>Jan 22 00:31:13 pa-edge01 CEF:0|Palo Alto Networks|PAN-OS|8.0.6|end|TRAFFIC|1|rt=1516548673164 deviceExternalId=007200001234 src=10.50.4.10 dst=52.96.114.158 sourceTranslatedAddress=198.51.100.10 sourceTranslatedPort=45679 spt=35836 dpt=123 proto=UDP act=allow cs1Label=Rule cs1=srv-updates app=ntp cs3Label=Virtual System cs3=vsys1 cs4Label=Source Zone cs4=dmz-web cs5Label=Destination Zone cs5=untrust cn1Label=SessionID cn1=100002 in=18694 out=3763 cat=any cnt=1`,
	`<14>Jan 22 00:21:13 pa-edge01 CEF:0|Palo Alto Networks|PAN-OS|8.0.6|deny|TRAFFIC|3|rt=1516548073860 deviceExternalId=007200001234 src=45.125.239.3 dst=198.51.100.10 spt=29536 dpt=3389 proto=TCP act=deny cs1Label=Rule cs1=default-deny app=incomplete cs3Label=Virtual System cs3=vsys1 cs4Label=Source Zone cs4=untrust cs5Label=Destination Zone cs5=untrust cn1Label=SessionID cn1=100001 in=0 out=60 cat=any cnt=1`,
}

func BenchmarkCEF(b *testing.B) {
	p, _ := Lookup("cef")
	benchParser(b, p, benchCEF)
}
