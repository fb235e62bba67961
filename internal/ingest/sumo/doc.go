// Package sumo is the Sumo Logic HTTP source receiver: POST
// /receiver/v1/http/{token} with a body of lines (JSON lines are parsed,
// other lines kept as text with their timestamp detected), compressed with
// gzip, deflate or zstd, and the metadata headers X-Sumo-Category,
// X-Sumo-Host, X-Sumo-Name and X-Sumo-Fields. The URL token is the ingest
// credential. Collectors and scripts written for Sumo Logic work by
// changing the host of the URL.
//
// Main type: Receiver (New, Register), safe for concurrent use.
package sumo
