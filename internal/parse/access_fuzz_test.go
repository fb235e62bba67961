package parse

import "testing"

func FuzzAccess(f *testing.F) {
	fuzzParser(f, "access",
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=b HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08"`,
		`www.example.com:443 10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/2.0" 302 0 "-" "curl/8" rt=0.005`,
	)
}
