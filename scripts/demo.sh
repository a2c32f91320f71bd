#!/usr/bin/env bash
# The README's first command: install, build, and show the sample session's timeline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/trailmap map --format table samples/demo-session.json
