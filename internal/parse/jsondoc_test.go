package parse

import (
	"math/rand/v2"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func TestJSON(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "json", in, want...) }
	f(`{"ts":"2018-01-21T15:08:54.970Z","level":"INFO","service":"kaminari-matching","host":"api-06","event":"order_placed","user_id":"u_1","src_ip":"111.231.30.217","qty":3.5}`,
		"_time=2018-01-21T15:08:54.97Z", "_host=api-06", "ts=2018-01-21T15:08:54.970Z", "qty=3.5", "log.level=info", "service.name=kaminari-matching",
		"host.name=api-06", "event.action=order_placed", "user.id=u_1", "source.ip=111.231.30.217")
	// Windows and CloudTrail shapes are recognized.
	f(winlogbeat4624, "user.name=e.garcia", "source.port=58407")
	f(cloudtrailRecord, "event.action=DescribeTargetHealth", "cloud.provider=aws")
	// A poisoned member does not lose the others.
	ev := parseOK(t, "json", `{"src_ip":"999.1.1.1","user":"bob","time":"yesterday"}`, "src_ip=999.1.1.1", "user.name=bob", "time=yesterday")
	noField(t, ev, "source.ip")
	if ev.Time != 0 {
		t.Errorf("time = %d, want 0", ev.Time)
	}
}

func TestNormalizeJSON(t *testing.T) {
	// As a receiver would: DecodeJSONEvent, then NormalizeJSON.
	var ev event.Event
	if err := DecodeJSONEvent([]byte(cloudtrailRecord), &ev, JSONEventOptions{}); err != nil {
		t.Fatal(err)
	}
	NormalizeJSON(&ev, 0)
	wantFields(t, cloudtrailRecord, &ev, "event.action=DescribeTargetHealth", "user.name=monitoring-ro", "_time=2018-01-21T17:50:46Z")
}

func TestJSONBad(t *testing.T) {
	for _, in := range []string{"", "{", `{"a":}`, "[1]", `{"a":1} x`} {
		parseBad(t, "json", in)
	}
}

// TestJSONShape keeps shapeOf in step with isWindowsDoc, isCloudTrail and
// the time member NormalizeJSON used to look up (the first of TimeKeys;
// for CloudTrail the first eventTime).
func TestJSONShape(t *testing.T) {
	names := append([]string{"winlog.event_id", "Event.System.EventID", "Event.System.EventID.#text", "eventSource", "eventName",
		"winlog.event_id2", "Event.System", "event", "x", ""}, TimeKeys...)
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 20000; n++ {
		from := rng.IntN(3)
		ev := event.Event{}
		for i := 0; i < from+rng.IntN(8); i++ {
			ev.Fields = append(ev.Fields, event.Field{Name: names[rng.IntN(len(names))], Value: "v"})
		}
		sh := shapeOf(ev.Fields[min(from, len(ev.Fields)):])
		if len(ev.Fields) < from {
			continue
		}
		if sh.windows != isWindowsDoc(&ev, from) || sh.cloudTrail() != isCloudTrail(&ev, from) {
			t.Fatalf("%v from %d: shape %+v, isWindowsDoc %v, isCloudTrail %v", ev.Fields, from, sh, isWindowsDoc(&ev, from), isCloudTrail(&ev, from))
		}
		wantTime, wantET, best := -1, -1, len(TimeKeys)
		for i, f := range ev.Fields[from:] {
			if r, _ := keyRanks(f.Name); r >= 0 && r < best {
				wantTime, best = i, r
			}
			if f.Name == "eventTime" && wantET < 0 {
				wantET = i
			}
		}
		if sh.time != wantTime || sh.eventTime != wantET {
			t.Fatalf("%v from %d: time member %d, eventTime %d, want %d, %d", ev.Fields, from, sh.time, sh.eventTime, wantTime, wantET)
		}
	}
}
