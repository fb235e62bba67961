// Package auth owns identity and access: roles with capabilities and data
// scope (partitions and a search filter), API tokens, users with argon2id
// passwords, optional TOTP and lockout, login sessions, and the
// hash-chained audit log. It answers, for the rest of the server: who is
// this, what may they do, and which data may they see? It does not own
// HTTP (package api maps its errors to statuses) or query execution (the
// query engine applies the scope it is given).
//
// An *Auth is safe for concurrent use: mu guards the persisted state
// (roles, users, tokens); sessions have their own lock; the audit log has
// its own. Lock order: Auth.mu before Sessions.mu; the audit log's lock is
// never held while taking another.
package auth
