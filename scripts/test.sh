#!/usr/bin/env bash
# npm test: every test of the project, on a fresh machine of this kind.
#   1. npm ci if needed, build (tsc) and lint (eslint + tsc --noEmit);
#   2. brings the lab up when it is not fully running (lab/up.sh: apt packages,
#      OVS/OVN/Neutron/PostgreSQL/Docker, test images, kuryr daemon) and, in that
#      case, stops exactly what it started at the end (lab/down.sh, by pid);
#   3. runs the unit tests (fakes) and the integration tests (real Docker +
#      Neutron + OVS) in one node:test run: one summary, one exit code.
# Needs root (the lab and the data plane do). KURYR_TEST_UNIT_ONLY=1 skips 2 and
# the integration tests (for machines without root).
# --integration (npm run test:integration): the integration tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
UNIT="packages/*/dist/test/unit/ dist/bench/test/"
if [ "${1:-}" = --integration ]; then UNIT=""; fi   # npm run test:integration

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
npm run --silent lint

if [ "${KURYR_TEST_UNIT_ONLY:-0}" = 1 ]; then
  exec node --test --test-concurrency=1 $UNIT
fi

[ "$(id -u)" = 0 ] || { echo "npm test: the integration tests need root (or set KURYR_TEST_UNIT_ONLY=1)" >&2; exit 1; }
brought_up=0
if ! bash lab/status.sh >/dev/null 2>&1 || ! bash lab/kuryr.sh status >/dev/null 2>&1; then
  echo "npm test: the lab is not (fully) running: bringing it up (lab/up.sh)"
  brought_up=1
  trap 'echo "npm test: stopping what the tests started (lab/down.sh)"; bash lab/down.sh' EXIT
  bash lab/up.sh
else
  # the daemon must run the code under test
  bash lab/kuryr.sh restart
fi

node --test --test-concurrency=1 --test-timeout=600000 $UNIT dist/test/integration/ packages/zun/dist/test/integration/
