// Package auth owns credentials: API tokens with roles, their hashed storage
// in the data directory, and the bootstrap admin token. It answers one
// question for the rest of the server: who is this secret, and may it do
// this? It does not own HTTP (package api maps its errors to statuses).
//
// A *Tokens is safe for concurrent use; mu guards the token table.
package auth
