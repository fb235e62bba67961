#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine: real
# syslog daemons, a browser, and the npm shipper clients. Safe to run again:
# it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(chromium rsyslog rsyslog-gnutls rsyslog-elasticsearch bsdutils python3-evtx kcat)
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

# syslog-ng conflicts with rsyslog in apt, so it is unpacked (not installed)
# into a folder, with the libraries the base system lacks, and the tests run
# it from there (internal/ingest/syslog looks in $MAMORI_SYSLOG_NG or
# /opt/syslog-ng). apt-get download needs no root.
sng=${MAMORI_SYSLOG_NG:-/opt/syslog-ng}
if [ ! -x "$sng/usr/sbin/syslog-ng" ] && command -v apt-get >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq syslog-ng-core libivykis0 libnet1 libpcre3 libwrap0 >/dev/null 2>&1); then
    mkdir -p "$sng"
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$sng"; done
  else
    echo "deps: apt-get download syslog-ng-core failed; syslog-ng tests will skip" >&2
  fi
  rm -rf "$tmp"
fi

# npm clients for the receiver tests (the official Elasticsearch, Splunk,
# Loki, OpenTelemetry, Fluent and Kafka clients); again when the lock changed.
if command -v npm >/dev/null 2>&1 && [ -f internal/ingest/testdata/npm/package-lock.json ] && { [ ! -d internal/ingest/testdata/npm/node_modules ] || [ internal/ingest/testdata/npm/package-lock.json -nt internal/ingest/testdata/npm/node_modules/.package-lock.json ]; }; then
  npm ci --prefix internal/ingest/testdata/npm --no-audit --no-fund --loglevel=error >/dev/null || echo "deps: npm ci failed; npm client tests will skip" >&2
fi

go mod download
