package parse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// AWS CloudTrail records: one record per line (CloudWatch Logs,
// EventBridge) or the S3 delivery batch {"Records": [...]} split with
// SplitBatch. Fields keep their flattened CloudTrail names (eventName,
// userIdentity.arn, requestParameters.x, ...); normalization adds the ECS
// fields below, user.name from the identity, source.ip or source.domain
// (for "AWS Internal" and service principals), and event.outcome from
// errorCode.

var cloudtrailMap = newFieldMap(
	mapping{"eventName", "event.action", ecsText},
	mapping{"eventSource", "event.provider", ecsText},
	mapping{"eventID", "event.id", ecsText},
	mapping{"awsRegion", "cloud.region", ecsText},
	mapping{"recipientAccountId", "cloud.account.id", ecsText},
	mapping{"userIdentity.accountId", "cloud.account.id", ecsText},
	mapping{"sourceIPAddress", "source.ip", ecsIP},
	mapping{"userAgent", "user_agent.original", ecsText},
	mapping{"userIdentity.arn", "user.id", ecsText},
	mapping{"userIdentity.userName", "user.name", ecsText},
	mapping{"userIdentity.sessionContext.sessionIssuer.userName", "user.name", ecsText},
	mapping{"userIdentity.accessKeyId", "aws.access_key_id", ecsText},
	mapping{"errorCode", "error.code", ecsText},
	mapping{"errorMessage", "error.message", ecsText},
	mapping{"eventType", "event.type", ecsText},
)

func isCloudTrail(ev *event.Event, from int) bool {
	hasSource, hasName := false, false
	for i := from; i < len(ev.Fields); i++ {
		switch ev.Fields[i].Name {
		case "eventSource":
			hasSource = true
		case "eventName":
			hasName = true
		}
	}
	return hasSource && hasName
}

func normalizeCloudTrail(ev *event.Event, from int) {
	normalize(ev, from, cloudtrailMap)
	if ip, ok := fieldFrom(ev, from, "sourceIPAddress"); ok && !isIP(ip) {
		addECS(ev, "source.domain", ip, ecsText)
	}
	if arn, ok := fieldFrom(ev, from, "userIdentity.arn"); ok {
		// arn:aws:sts::123:assumed-role/ROLE/SESSION or arn:aws:iam::123:user/NAME
		if i := strings.LastIndexByte(arn, '/'); i > 0 {
			addECS(ev, "user.name", arn[i+1:], ecsText)
		}
	}
	if t, ok := fieldFrom(ev, from, "userIdentity.type"); ok && t == "Root" {
		addECS(ev, "user.name", "root", ecsText)
	}
	outcome := outcomeSuccess
	if _, failed := fieldFrom(ev, from, "errorCode"); failed {
		outcome = outcomeFailure
	}
	addECS(ev, "event.outcome", outcome, ecsText)
	addECS(ev, "cloud.provider", "aws", ecsText)
}

// parseCloudTrail is the "cloudtrail" parser for one record.
func parseCloudTrail(line []byte, ev *event.Event) error {
	n0 := len(ev.Fields)
	if err := flattenInto(line, ev, "cloudtrail"); err != nil {
		return err
	}
	if !isCloudTrail(ev, n0) {
		ev.Fields = ev.Fields[:n0]
		return errAt("cloudtrail", 0, "no eventSource and eventName (a {\"Records\":[...]} batch must be split with SplitBatch)")
	}
	if v, ok := fieldFrom(ev, n0, "eventTime"); ok {
		if ns, ok := ParseTimeValue(v); ok {
			ev.Time = ns
		}
	}
	normalizeCloudTrail(ev, n0)
	return nil
}

// SplitBatch splits a JSON batch document into its records: the elements
// of {"Records": [...]} (CloudTrail S3 delivery, also used by other AWS
// services) or of a top-level array. Any other JSON value is one record.
// Records are returned compacted, one per slice, ready for Parse.
func SplitBatch(doc []byte) ([][]byte, error) {
	t := bytes.TrimSpace(doc)
	if len(t) == 0 {
		return nil, fmt.Errorf("split batch: empty document")
	}
	var raw []json.RawMessage
	switch t[0] {
	case '[':
		if err := json.Unmarshal(t, &raw); err != nil {
			return nil, fmt.Errorf("split batch: %w", err)
		}
	case '{':
		var b struct {
			Records []json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(t, &b); err != nil {
			return nil, fmt.Errorf("split batch: %w", err)
		}
		if b.Records == nil {
			return [][]byte{t}, nil
		}
		raw = b.Records
	default:
		return nil, fmt.Errorf("split batch: want a JSON object or array")
	}
	out := make([][]byte, 0, len(raw))
	for _, r := range raw {
		var c bytes.Buffer
		if err := json.Compact(&c, r); err != nil {
			return nil, fmt.Errorf("split batch: %w", err)
		}
		out = append(out, c.Bytes())
	}
	return out, nil
}
