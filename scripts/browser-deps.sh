#!/usr/bin/env bash
# Installs what the browser test (tests/server/test_web.sh) needs: Debian's
# chromium, and playwright-core from npm into tests/browser/node_modules
# (exactly the version in tests/browser/package-lock.json; no browser is
# downloaded: the test drives /usr/bin/chromium).  Run as root (or with sudo)
# on Debian 12 with Node.js 20 or later.  .ci/run and scripts/test.sh call it.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=""
dpkg -s chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  # Debian 12's own nodejs is 18: outside CI the browser test is then
  # skipped (test_web says so); CI machines have Node.js 20
  echo "browser-deps: playwright-core needs Node.js 20 or later; this is $(node --version)" >&2
  if [ "${CI:-}" = true ]; then exit 1; fi
  echo "browser-deps: the browser test will be skipped" >&2
  exit 0
fi
if [ -f tests/browser/node_modules/playwright-core/package.json ] &&
   [ tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ]; then
  echo "browser-deps: playwright-core already installed"
  exit 0
fi
# npm ci: the lock file's versions, checked against its integrity hashes
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
echo "browser-deps: $(/usr/bin/chromium --version 2>/dev/null | head -1), playwright-core $(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version')"
