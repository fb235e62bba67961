// Package scenario feeds the generated attack scenarios
// (../shared/testdata/scenario: one file per log source, each in its real
// wire format) to a Mamori server the way live shippers would: every
// source's lines interleaved in slices of event time. The end-to-end tests
// of the server and of the web UI use it.
package scenario
