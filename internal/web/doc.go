// Package web serves Mamori's browser UI: hand-written ES modules, CSS and
// one HTML page, embedded in the binary with the embed package, so `go
// build` needs no Node.js (docs/design/0003-web-ui.md).
//
// It owns the assets under assets/ and the http.Handler that serves them. It
// does not own the API: the UI talks to /api/v1/... with the bearer token the
// user signed in with, and the server mounts this handler at "/" behind the
// API routes.
//
// Caching: every asset is served under /assets/<build-hash>/..., where the
// hash covers the content of all assets, so those URLs are immutable and
// cached for a year; index.html (served for every other non-API path, so
// client-side routes work) is never cached and points at the current hash.
// Every answer carries a strict Content-Security-Policy that allows only
// same-origin scripts, styles and connections and no inline script.
//
// Main entry point: New. The handler is immutable after New and safe for
// concurrent use.
package web
