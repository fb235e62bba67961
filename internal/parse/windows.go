package parse

import (
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Windows events as JSON: Winlogbeat documents (winlog.event_id,
// winlog.event_data.*) and evtx_dump documents (Event.System.*,
// Event.EventData.*). Both are flattened with FlattenJSON and keep their
// original names; normalization adds the ECS fields below. Event data names
// (Image, CommandLine, TargetUserName, ...) map the same in both layouts.

const (
	winlogDataPrefix = "winlog.event_data."
	evtxDataPrefix   = "Event.EventData."
	evtxUserPrefix   = "Event.UserData."
)

// windowsSystemMap maps envelope fields of both layouts.
var windowsSystemMap = newFieldMap(
	mapping{"winlog.event_id", "event.code", ecsInt},
	mapping{"winlog.computer_name", "host.name", ecsText},
	mapping{"winlog.provider_name", "event.provider", ecsText},
	mapping{"winlog.channel", "winlog.channel", ecsText},
	mapping{"Event.System.EventID", "event.code", ecsInt},
	mapping{"Event.System.EventID.#text", "event.code", ecsInt},
	mapping{"Event.System.Computer", "host.name", ecsText},
	mapping{"Event.System.Channel", "winlog.channel", ecsText},
	mapping{"Event.System.Provider.#attributes.Name", "event.provider", ecsText},
	mapping{"Event.System.EventRecordID", "winlog.record_id", ecsInt},
)

// windowsDataMap maps event data names (after the layout's prefix).
var windowsDataMap = newFieldMap(
	mapping{"Image", "process.executable", ecsText},
	mapping{"NewProcessName", "process.executable", ecsText},
	mapping{"SourceImage", "process.executable", ecsText},
	mapping{"CommandLine", "process.command_line", ecsText},
	mapping{"ProcessId", "process.pid", ecsInt},
	mapping{"NewProcessId", "process.pid", ecsInt},
	mapping{"SourceProcessId", "process.pid", ecsInt},
	mapping{"ProcessGuid", "process.entity_id", ecsText},
	mapping{"ParentImage", "process.parent.executable", ecsText},
	mapping{"ParentProcessName", "process.parent.executable", ecsText},
	mapping{"ParentCommandLine", "process.parent.command_line", ecsText},
	mapping{"ParentProcessId", "process.parent.pid", ecsInt},
	mapping{"ParentProcessGuid", "process.parent.entity_id", ecsText},
	mapping{"CurrentDirectory", "process.working_directory", ecsText},
	mapping{"OriginalFileName", "process.pe.original_file_name", ecsText},
	mapping{"IntegrityLevel", "process.integrity_level", ecsText},
	mapping{"TargetImage", "winlog.target.executable", ecsText},
	mapping{"IpAddress", "source.ip", ecsIP},
	mapping{"IpPort", "source.port", ecsInt},
	mapping{"WorkstationName", "source.domain", ecsText},
	mapping{"SourceIp", "source.ip", ecsIP},
	mapping{"SourcePort", "source.port", ecsInt},
	mapping{"SourceHostname", "source.domain", ecsText},
	mapping{"DestinationIp", "destination.ip", ecsIP},
	mapping{"DestinationPort", "destination.port", ecsInt},
	mapping{"DestinationHostname", "destination.domain", ecsText},
	mapping{"Protocol", "network.transport", ecsLower},
	mapping{"QueryName", "dns.question.name", ecsText},
	mapping{"TargetFilename", "file.path", ecsText},
	mapping{"TargetObject", "registry.path", ecsText},
	mapping{"Details", "registry.data.strings", ecsText},
	mapping{"ServiceName", "service.name", ecsText},
	mapping{"ServiceFileName", "process.command_line", ecsText},
	mapping{"ImagePath", "process.command_line", ecsText},
	mapping{"TaskName", "winlog.task_name", ecsText},
	mapping{"LogonType", "winlog.logon.type", ecsInt},
	mapping{"AuthenticationPackageName", "winlog.logon.package", ecsText},
	mapping{"ScriptBlockText", "powershell.file.script_block_text", ecsText},
	mapping{"ImageLoaded", "dll.path", ecsText},
	mapping{"PipeName", "file.name", ecsText},
	mapping{"ShareName", "file.directory", ecsText},
)

// logonEvents are the Security events whose Target* account is the actor.
func logonEvent(code string) bool {
	switch code {
	case "4624", "4625", "4634", "4647", "4648", "4768", "4769", "4771", "4776", "4778", "4779":
		return true
	}
	return false
}

// normalizeWindows adds ECS fields to a flattened Windows event.
func normalizeWindows(ev *event.Event, from int) {
	normalize(ev, from, windowsSystemMap)
	a := newECSAdder(ev)
	end := len(ev.Fields)
	var subjUser, subjDomain, targUser, targDomain, user, hashes, keywords string
	for i := from; i < end; i++ {
		f := ev.Fields[i]
		name, ok := windowsDataName(f.Name)
		if !ok {
			if f.Name == "Event.System.Keywords" {
				keywords = f.Value
			}
			continue
		}
		switch name {
		case "SubjectUserName":
			subjUser = f.Value
		case "SubjectDomainName":
			subjDomain = f.Value
		case "TargetUserName":
			targUser = f.Value
		case "TargetDomainName":
			targDomain = f.Value
		case "User":
			user = f.Value
		case "Hashes", "Hash":
			hashes = f.Value
		}
		lo, hi := windowsDataMap.find(name, fieldHash(name))
		for _, m := range windowsDataMap.ents[lo:hi] {
			v := f.Value
			if m.kind == ecsInt && strings.HasPrefix(v, "0x") {
				v = hexToDecimal(v) // Security events write pids as 0x1a2b
			}
			a.addHashed(m.to, m.toHash, v, m.kind)
		}
	}
	code, _ := fieldFrom(ev, from, "event.code")
	uname, udomain := subjUser, subjDomain
	if validECS(targUser, ecsText) && (logonEvent(code) || !validECS(subjUser, ecsText)) {
		uname, udomain = targUser, targDomain
	}
	if user != "" && !validECS(uname, ecsText) {
		if d, u, ok := strings.Cut(user, `\`); ok {
			udomain, uname = d, u
		} else {
			uname = user
		}
	}
	a.add("user.name", uname, ecsText)
	a.add("user.domain", udomain, ecsText)
	if hashes != "" {
		windowsHashes(&a, hashes, code == "1")
	}
	switch keywords {
	case "0x8010000000000000":
		a.add("event.outcome", outcomeFailure, ecsText)
	case "0x8020000000000000":
		a.add("event.outcome", outcomeSuccess, ecsText)
	}
}

// windowsDataName strips the event data prefix of either layout.
func windowsDataName(name string) (string, bool) {
	switch {
	case strings.HasPrefix(name, winlogDataPrefix):
		return name[len(winlogDataPrefix):], true
	case strings.HasPrefix(name, evtxDataPrefix):
		return name[len(evtxDataPrefix):], true
	case strings.HasPrefix(name, "winlog.user_data."):
		return name[len("winlog.user_data."):], true
	case strings.HasPrefix(name, evtxUserPrefix):
		// Event.UserData.<Element>.<Field>, e.g. LogFileCleared.SubjectUserName.
		rest := name[len(evtxUserPrefix):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			return rest[i+1:], true
		}
	}
	return "", false
}

// windowsHashes reads Sysmon's "SHA1=..,MD5=..,SHA256=..,IMPHASH=..".
func windowsHashes(a *ecsAdder, hashes string, process bool) {
	for hashes != "" {
		var part string
		part, hashes, _ = strings.Cut(hashes, ",")
		algo, sum, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		var name, pname string
		switch strings.ToUpper(algo) {
		case "SHA256":
			name, pname = "file.hash.sha256", "process.hash.sha256"
		case "SHA1":
			name, pname = "file.hash.sha1", "process.hash.sha1"
		case "MD5":
			name, pname = "file.hash.md5", "process.hash.md5"
		case "IMPHASH":
			name, pname = "file.pe.imphash", "process.pe.imphash"
		default:
			continue
		}
		a.add(name, sum, ecsText)
		if process {
			a.add(pname, sum, ecsText)
		}
	}
}

func hexToDecimal(v string) string {
	n, err := strconv.ParseUint(v[2:], 16, 64)
	if err != nil {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// isWindowsDoc reports whether flattened fields look like a Windows event.
func isWindowsDoc(ev *event.Event, from int) bool {
	for i := from; i < len(ev.Fields); i++ {
		n := ev.Fields[i].Name
		if n == "winlog.event_id" || n == "Event.System.EventID" || n == "Event.System.EventID.#text" {
			return true
		}
	}
	return false
}

// parseWindows is the "windows" parser: one Winlogbeat or evtx_dump JSON
// document.
func parseWindows(line []byte, ev *event.Event) error {
	n0 := len(ev.Fields)
	if err := flattenInto(line, ev, "windows"); err != nil {
		return err
	}
	if !isWindowsDoc(ev, n0) {
		ev.Fields = ev.Fields[:n0]
		return errAt("windows", 0, "no winlog.event_id or Event.System.EventID")
	}
	windowsTime(ev, n0)
	normalizeWindows(ev, n0)
	return nil
}

func windowsTime(ev *event.Event, from int) {
	for _, k := range [...]string{"@timestamp", "Event.System.TimeCreated.#attributes.SystemTime", "Event.System.TimeCreated.SystemTime"} {
		if v, ok := fieldFrom(ev, from, k); ok {
			if ns, ok := ParseTimeValue(v); ok {
				ev.Time = ns
				return
			}
		}
	}
}

// WindowsField returns a Windows event's value by its Windows name, the way
// Sigma rules name fields, whichever JSON layout the event came in: event
// data names (Image, CommandLine, TargetUserName, GrantedAccess, ...) under
// winlog.event_data., Event.EventData. or Event.UserData.<Element>., and the
// system names EventID, Channel, Computer and Provider_Name.
func WindowsField(ev *event.Event, name string) (string, bool) {
	var alts [3]string
	switch name {
	case "EventID":
		alts = [3]string{"event.code", "winlog.event_id", "Event.System.EventID"}
	case "Channel":
		alts = [3]string{"winlog.channel", "Event.System.Channel"}
	case "Computer":
		alts = [3]string{"winlog.computer_name", "Event.System.Computer"}
	case "Provider_Name":
		alts = [3]string{"event.provider", "winlog.provider_name", "Event.System.Provider.#attributes.Name"}
	}
	for _, a := range alts {
		if a == "" {
			break
		}
		if v, ok := fieldFrom(ev, 0, a); ok {
			return v, true
		}
	}
	for i := range ev.Fields {
		if n, ok := windowsDataName(ev.Fields[i].Name); ok && n == name {
			return ev.Fields[i].Value, true
		}
	}
	return "", false
}
