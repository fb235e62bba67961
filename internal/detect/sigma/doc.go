// Package sigma loads, compiles and evaluates Sigma detection rules
// (specification v2.x) against events.
//
// It owns the rule model (ParseRule, LoadDir), the modifiers and the
// condition language, log-source routing and field mapping as data
// (Pipeline, with a built-in default for Windows event logs in evtx_dump
// JSON, Winlogbeat and ECS shapes), the compiler (Compile) and the matching
// Engine, and the offline hunter (Hunt) behind `mamori hunt`. It does not own
// the live stream, signal storage or correlation state (internal/detect).
//
// Compile builds one Engine for a whole rule set: each event is routed by
// its log source to the rules that apply (route.go: Windows alternatives by
// channel, then event ID; the others by a field they require, each shared
// routing condition evaluated once per event; non-Windows products match
// the event's shape, see pipelines/default.yml; the result is cached per
// combination of routing field values, routecache.go), a literal prefilter
// selects the candidate rules (prefilter.go: needles keyed by field slot,
// found by one matcher per slot over the case-folded value,
// whole-value needles by a map lookup, keyword needles by one matcher per
// combination of the event's routes; a matcher probes only every few
// bytes when its needles allow it (stride.go: 4-byte windows of the long
// needles, 2-byte ones of a few short ones), else slides byte by byte
// (anchor.go), and a few keyword needles are searched for directly), and
// only those are evaluated exactly (node.go,
// match.go; a regular expression first needs the longest run of one byte
// class every match holds, regexrun.go). What the scan finds in a value is
// cached per (slot, value), with the results of the costlier leaves
// evaluated on it (valuecache.go): logs repeat most values, so a repeated
// value is neither scanned nor tested again. The hunter's JSON-lines
// flattener (jsonflat.go, flat_steps.go) reads a line as a chain of steps,
// each the text from one value's end to the next member's value with the
// member it leads to, remembered per object by text with the step seen
// after each; a line shaped like earlier ones is read with one in-place
// compare per member, and an object whose members change (Sysmon's
// event_data) tries a few remembered alternatives before the general
// parser. The hunter's flattener is bound to the engine: it resolves each
// interned name to its slot once and remembers the slot with its step,
// so it hands Match the list of the fields that have a
// slot (matchSlots): loading needs no name lookup, field needles are looked
// for in those fields only, and the rest (most of a Winlogbeat document)
// are only scanned for keyword needles, in a tight loop.
// Once compiled, the engine is compacted (arena.go): its condition nodes,
// leaves, matcher lists and literals move into a few large arrays and one
// string, the needle tables hold no pointer (a needle's text is an offset
// into its matcher's packed needles) and a leaf's matchers none but for
// globs, regular expressions and CIDR prefixes (a literal is an offset
// into Engine.lits), so the garbage collector marks ~13,000
// objects per cycle for a whole SigmaHQ rule set instead of ~160,000.
// Engine.QueryPrefilter (querytext.go) turns the rules into a search
// expression of whole tokens for retro-hunts over the store.
// A rule's condition stays available as an Expr tree (Rule.Detection).
//
// Concurrency: a compiled Engine is safe for concurrent use; Match keeps
// its scratch space in a sync.Pool (each with its own bounded value,
// routing and field-name caches, so lookups take no lock), and the only shared state it adds after
// Compile is a bounded cache of merged keyword matchers (a sync.Map).
// Rules and Pipelines must not be changed after Compile.
package sigma
