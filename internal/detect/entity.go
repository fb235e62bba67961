package detect

import (
	"net/netip"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Entity types.
const (
	EntityHost    = "host"
	EntityUser    = "user"
	EntityIP      = "ip"
	EntityDomain  = "domain"
	EntityHash    = "hash"
	EntityProcess = "process"
	EntityWallet  = "address"
)

// Entity is something a signal is about.
type Entity struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// entityFields maps field names (normalized ECS names, Windows event data
// in the evtx_dump and Winlogbeat layouts, common vendor names) to entity
// types. The first fields of a type are the most specific.
var entityFields = []struct {
	field string
	typ   string
}{
	{"host.name", EntityHost}, {"Event.System.Computer", EntityHost}, {"winlog.computer_name", EntityHost}, {"hostname", EntityHost}, {"host", EntityHost},
	{"user.name", EntityUser}, {"Event.EventData.TargetUserName", EntityUser}, {"Event.EventData.SubjectUserName", EntityUser}, {"Event.EventData.User", EntityUser},
	{"winlog.event_data.TargetUserName", EntityUser}, {"winlog.event_data.SubjectUserName", EntityUser}, {"winlog.event_data.User", EntityUser},
	{"user", EntityUser}, {"target_user", EntityUser}, {"userIdentity.userName", EntityUser}, {"userIdentity.arn", EntityUser},
	{"source.ip", EntityIP}, {"destination.ip", EntityIP}, {"client.ip", EntityIP}, {"src_ip", EntityIP}, {"dst_ip", EntityIP},
	{"Event.EventData.IpAddress", EntityIP}, {"Event.EventData.SourceIp", EntityIP}, {"Event.EventData.DestinationIp", EntityIP},
	{"winlog.event_data.IpAddress", EntityIP}, {"winlog.event_data.SourceIp", EntityIP}, {"winlog.event_data.DestinationIp", EntityIP},
	{"sourceIPAddress", EntityIP}, {"src", EntityIP}, {"dst", EntityIP},
	{"dns.question.name", EntityDomain}, {"url.domain", EntityDomain}, {"destination.domain", EntityDomain},
	{"Event.EventData.QueryName", EntityDomain}, {"Event.EventData.DestinationHostname", EntityDomain},
	{"winlog.event_data.QueryName", EntityDomain}, {"winlog.event_data.DestinationHostname", EntityDomain}, {"query", EntityDomain},
	{"file.hash.sha256", EntityHash}, {"process.hash.sha256", EntityHash}, {"sha256", EntityHash}, {"hash.sha256", EntityHash},
	{"Event.EventData.Hashes", EntityHash}, {"winlog.event_data.Hashes", EntityHash},
	{"process.executable", EntityProcess}, {"Event.EventData.Image", EntityProcess}, {"winlog.event_data.Image", EntityProcess}, {"image", EntityProcess},
	{"wallet.address", EntityWallet}, {"destination_address", EntityWallet}, {"to_address", EntityWallet}, {"wallet", EntityWallet},
}

// Entities extracts the entities of an event: host, users, IPs, domains,
// hashes, processes and wallet addresses, without duplicates. Local and
// placeholder values ("-", "SYSTEM", loopback addresses) are left out.
func Entities(e *event.Event) []Entity {
	var out []Entity
	add := func(typ, v string) {
		v = strings.TrimSpace(v)
		if !useful(typ, v) {
			return
		}
		for _, x := range out {
			if x.Type == typ && strings.EqualFold(x.Value, v) {
				return
			}
		}
		if out == nil {
			out = make([]Entity, 0, 8)
		}
		out = append(out, Entity{Type: typ, Value: v})
	}
	if e.Host != "" {
		add(EntityHost, e.Host)
	}
	// One pass over the fields finds the first value of every entity
	// field (what e.Get returns), instead of one scan per entity field.
	var first [maxEntityFields]int32 // per canonical entity field: index+1 of its first event field
	for j := range e.Fields {
		if k, ok := entityNames.find(e.Fields[j].Name); ok && first[k] == 0 {
			first[k] = int32(j + 1)
		}
	}
	for i, ef := range entityFields {
		j := first[entitySlot[i]]
		if j == 0 {
			continue
		}
		v := e.Fields[j-1].Value
		if v == "" {
			continue
		}
		if ef.typ == EntityHash && strings.Contains(v, "=") {
			// Sysmon "SHA1=..,MD5=..,SHA256=..": keep the SHA256.
			for _, part := range strings.Split(v, ",") {
				if k, h, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "SHA256") {
					add(EntityHash, strings.ToLower(h))
				}
			}
			continue
		}
		add(ef.typ, v)
	}
	return out
}

// maxEntityFields bounds entityFields (the per-event table of Entities
// lives on the stack).
const maxEntityFields = 64

// entityNames indexes the entity field names (canonical index: a name's
// first position in entityFields), and entitySlot maps each position of
// entityFields to its canonical index.
var entityNames, entitySlot = func() (*fieldNames, []int) {
	if len(entityFields) > maxEntityFields {
		panic("BUG: more entity fields than maxEntityFields")
	}
	names := make([]string, len(entityFields))
	for i, ef := range entityFields {
		if !indexable(ef.field) {
			panic("BUG: entity field " + ef.field + " must be a plain name shorter than 64 bytes (Get semantics)")
		}
		names[i] = ef.field
	}
	fn := newFieldNames(names)
	slot := make([]int, len(entityFields))
	for i, ef := range entityFields {
		slot[i] = fn.idx[ef.field]
	}
	return fn, slot
}()

// localUsers are user values that name no one (upper case).
var localUsers = []string{"SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "N/A", "NULL", "ANONYMOUS LOGON"}

func useful(typ, v string) bool {
	if v == "" || v == "-" || len(v) > 512 {
		return false
	}
	switch typ {
	case EntityIP:
		a, err := netip.ParseAddr(v)
		return err == nil && !a.IsLoopback() && !a.IsUnspecified()
	case EntityUser:
		if len(v) <= len("NETWORK SERVICE") {
			for _, local := range localUsers {
				if strings.EqualFold(v, local) {
					return false
				}
			}
		}
		return !strings.HasSuffix(v, "$") // machine accounts
	}
	return true
}
