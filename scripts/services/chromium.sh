#!/usr/bin/env bash
# Debian's Chromium for the web console's browser tests (server/browser_test.go,
# driven with chromedp). Idempotent: quick when Chromium is already installed.
# Needs root for apt-get; the tests skip with a message when it is absent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
chromium --version
