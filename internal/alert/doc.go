// Package alert delivers notifications: webhooks (JSON, HMAC-signed),
// Slack-compatible incoming webhooks and e-mail over SMTP with STARTTLS,
// rendered from templates. Every notification goes through a persistent
// outbox: it survives restarts and is retried with exponential backoff
// until delivered or expired, and its status can be listed.
//
// It does not decide what to notify about: the server enqueues incident
// changes. An *Outbox is safe for concurrent use (mu guards the in-memory
// index; each notification is one file written atomically).
package alert
