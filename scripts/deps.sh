#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine: real
# syslog daemons, a browser, and the npm shipper clients. Safe to run again:
# it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(chromium rsyslog rsyslog-gnutls rsyslog-elasticsearch bsdutils python3-evtx)
need=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Daemons must not start as services here: the tests run their own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
  else
    echo "deps: not root; tests needing ${need[*]} will skip" >&2
  fi
fi

# npm clients for the receiver tests (the official Elasticsearch, Splunk,
# Loki, OpenTelemetry and Fluent clients).
if command -v npm >/dev/null 2>&1 && [ -f internal/ingest/testdata/npm/package-lock.json ] && [ ! -d internal/ingest/testdata/npm/node_modules ]; then
  npm ci --prefix internal/ingest/testdata/npm --no-audit --no-fund --loglevel=error >/dev/null || echo "deps: npm ci failed; npm client tests will skip" >&2
fi

go mod download
