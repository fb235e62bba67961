#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine. Safe to run
# again: it installs only what is missing.
set -euo pipefail
need=()
for pkg in "$@"; do :; done
# Debian packages the tests use (real syslog daemons, shippers, a browser).
pkgs=(chromium)
if [ ${#pkgs[@]} -gt 0 ]; then
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
fi
go mod download
