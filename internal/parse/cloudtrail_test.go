package parse

import (
	"strings"
	"testing"
)

const cloudtrailRecord = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAUWSR8FP3TY0IK3ND6:botocore-session-1786040593","arn":"arn:aws:sts::481516234200:assumed-role/monitoring-ro/botocore-session-1786040593","accountId":"481516234200","accessKeyId":"ASIAF67B227C450ACEFF","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAUWSR8FP3TY0IK3ND6","arn":"arn:aws:iam::481516234200:role/monitoring-ro","accountId":"481516234200","userName":"monitoring-ro"},"attributes":{"creationDate":"2018-01-21T17:14:59Z","mfaAuthenticated":"false"}}},"eventTime":"2018-01-21T17:50:46Z","eventSource":"elasticloadbalancing.amazonaws.com","eventName":"DescribeTargetHealth","awsRegion":"ap-northeast-1","sourceIPAddress":"13.230.41.17","userAgent":"aws-sdk-go/1.44.300 (go1.20.6; linux; amd64)","requestParameters":null,"responseElements":null,"requestID":"04b48883-45a4-4772-ab0e-493b76ee96bd","eventID":"d440cbcc-613c-4293-82a7-ba5888c9e5ba","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"481516234200","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"elasticloadbalancing.ap-northeast-1.amazonaws.com"}}`

func TestCloudTrail(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "cloudtrail", in, want...) }
	f(cloudtrailRecord, "_time=2018-01-21T17:50:46Z", "eventName=DescribeTargetHealth", "event.action=DescribeTargetHealth",
		"event.provider=elasticloadbalancing.amazonaws.com", "cloud.region=ap-northeast-1", "cloud.account.id=481516234200",
		"source.ip=13.230.41.17", "user.name=monitoring-ro", "event.outcome=success", "cloud.provider=aws",
		"userIdentity.sessionContext.attributes.mfaAuthenticated=false")
	f(`{"eventTime":"2024-01-01T00:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"AWS Internal","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},"errorCode":"AccessDenied","requestParameters":{"list":[1,2]}}`,
		"event.outcome=failure", "error.code=AccessDenied", "source.domain=AWS Internal", "user.name=root", "requestParameters.list=[1,2]")
	f(`{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{"type":"IAMUser","userName":"alice","arn":"arn:aws:iam::1:user/alice"}}`,
		"user.name=alice")
}

func TestCloudTrailBad(t *testing.T) {
	for _, in := range []string{"", "{", `{"Records":[{"eventSource":"a","eventName":"b"}]}`, `{"eventName":"x"}`, "[1]"} {
		parseBad(t, "cloudtrail", in)
	}
}

func TestSplitBatch(t *testing.T) {
	doc := `{"Records": [ {"eventSource":"a","eventName":"b","eventTime":"2024-01-01T00:00:00Z"},
		{"eventSource":"c", "eventName":"d"} ]}`
	recs, err := SplitBatch([]byte(doc))
	if err != nil || len(recs) != 2 {
		t.Fatalf("SplitBatch = %d records, %v; want 2", len(recs), err)
	}
	if got := string(recs[1]); got != `{"eventSource":"c","eventName":"d"}` {
		t.Errorf("record 2 = %s", got)
	}
	p, _ := Lookup("cloudtrail")
	for _, r := range recs {
		parseLine(t, p, r)
	}
	if recs, err := SplitBatch([]byte(`[{"a":1},{"b":2}]`)); err != nil || len(recs) != 2 {
		t.Errorf("SplitBatch(array) = %d, %v", len(recs), err)
	}
	if recs, err := SplitBatch([]byte(cloudtrailRecord)); err != nil || len(recs) != 1 {
		t.Errorf("SplitBatch(single) = %d, %v", len(recs), err)
	}
	for _, bad := range []string{"", "x", `{"Records":[1,}`, `{"Records":[1]`} {
		if _, err := SplitBatch([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "split batch: ") {
			t.Errorf("SplitBatch(%q) = %v, want a split batch error", bad, err)
		}
	}
}
