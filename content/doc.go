// Package content is Mamori's detection content pack: Sigma rules and
// Mamori stateful rules (threshold, chain, first-seen, outlier, absence,
// aggregation) for the phases of an intrusion into a crypto exchange,
// from a phishing document to hot-wallet theft. The server loads it by
// default besides the --rules folders.
//
// The rules are general: they name techniques, tools and field shapes,
// never an organisation's hosts, users, addresses or hashes. They read
// the normalized (ECS) fields the parse package writes.
//
// It owns the YAML files under rules/ and nothing else; it has no state
// and is safe for concurrent use.
package content
