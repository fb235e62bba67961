package auth

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Capability is one thing a principal may do.
type Capability string

// Capabilities checked by the API.
const (
	CapIngest Capability = "ingest" // send data
	CapSearch Capability = "search" // search, tail, histogram, export
	CapRules  Capability = "rules"  // manage detection rules, retro-hunts
	CapTriage Capability = "triage" // work on incidents and signals
	CapUsers  Capability = "users"  // manage users, roles and tokens
	CapAudit  Capability = "audit"  // read the audit log
	CapAdmin  Capability = "admin"  // everything, including retention and config
)

// AllCapabilities lists every capability, for validation and docs.
var AllCapabilities = []Capability{CapIngest, CapSearch, CapRules, CapTriage, CapUsers, CapAudit, CapAdmin}

// Role is a named set of capabilities with a data scope.
type Role struct {
	Name         string       `json:"name"`
	Capabilities []Capability `json:"capabilities"`
	// Partitions the role may read; empty means every partition (except
	// the audit partition, which needs CapAudit).
	Partitions []string `json:"partitions,omitempty"`
	// Filter is a search expression AND-ed into every query of the role's
	// members (Sumo-style role filter), e.g. `!_partition=wallet`.
	Filter  string `json:"filter,omitempty"`
	Builtin bool   `json:"builtin,omitempty"`
}

// Built-in role names.
const (
	RoleAdmin   = "admin"
	RoleReader  = "reader"
	RoleIngest  = "ingest"
	RoleAnalyst = "analyst"
	RoleAuditor = "auditor"
)

// AuditPartition is where audit records are stored for search; only
// principals with CapAudit read it.
const AuditPartition = "_audit"

func builtinRoles() []Role {
	return []Role{
		{Name: RoleAdmin, Capabilities: AllCapabilities, Builtin: true},
		{Name: RoleReader, Capabilities: []Capability{CapSearch}, Builtin: true},
		{Name: RoleIngest, Capabilities: []Capability{CapIngest}, Builtin: true},
		{Name: RoleAnalyst, Capabilities: []Capability{CapSearch, CapRules, CapTriage}, Builtin: true},
		{Name: RoleAuditor, Capabilities: []Capability{CapSearch, CapAudit}, Partitions: []string{AuditPartition}, Builtin: true},
	}
}

// Validate reports every problem of a role definition.
func (r *Role) Validate() error {
	var probs []string
	if r.Name == "" || strings.ContainsAny(r.Name, " \t\n/") {
		probs = append(probs, fmt.Sprintf("name %q: want a non-empty name without spaces or slashes", r.Name))
	}
	if len(r.Capabilities) == 0 {
		probs = append(probs, "capabilities: at least one")
	}
	for _, c := range r.Capabilities {
		if !slices.Contains(AllCapabilities, c) {
			probs = append(probs, fmt.Sprintf("capability %q: want one of %v", c, AllCapabilities))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: role %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return nil
}

// Scope is what data a principal may read.
type Scope struct {
	// Partitions allowed; nil means all (the audit partition only with
	// CapAudit, see AllowsPartition).
	Partitions []string
	// Filters are search expressions; a row is visible when it matches at
	// least one (roles' filters are OR-ed). nil means no filter.
	Filters []string
	audit   bool
}

// AllowsPartition reports whether the scope may read partition p.
func (s Scope) AllowsPartition(p string) bool {
	if p == AuditPartition && !s.audit {
		return false
	}
	return s.Partitions == nil || slices.Contains(s.Partitions, p)
}

// combine merges the scopes of several roles: the union of access.
func combineRoles(roles []Role) (caps map[Capability]bool, sc Scope) {
	caps = map[Capability]bool{}
	allParts := false
	noFilter := false
	var parts, filters []string
	for _, r := range roles {
		for _, c := range r.Capabilities {
			caps[c] = true
		}
		if len(r.Partitions) == 0 {
			allParts = true
		}
		parts = append(parts, r.Partitions...)
		if r.Filter == "" {
			noFilter = true
		} else {
			filters = append(filters, r.Filter)
		}
	}
	if caps[CapAdmin] {
		for _, c := range AllCapabilities {
			caps[c] = true
		}
	}
	if !allParts {
		sort.Strings(parts)
		sc.Partitions = slices.Compact(parts)
		if sc.Partitions == nil {
			sc.Partitions = []string{}
		}
	}
	if !noFilter && len(roles) > 0 {
		sc.Filters = filters
	}
	sc.audit = caps[CapAudit]
	return caps, sc
}
