#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this).
#
# Builds in debug mode (warnings are errors, see Package.swift), checks the
# formatting, starts a throwaway PostgreSQL (scripts/postgres-server.sh,
# installing it with apt-get if missing) for the store tests, runs every Swift
# Testing suite, then drives the real `coupongate serve` binary end to end
# (scripts/serve_smoke.py). PostgreSQL is stopped and its data deleted on exit,
# whether the tests pass or not.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

pg_state=.test-servers/postgres
stop_postgres() { scripts/postgres-server.sh stop "$pg_state" || true; }

step "format check (swift format lint)"
swift format lint --strict --recursive Package.swift Sources Tests

step "build (debug, with tests)"
swift build --build-tests

step "PostgreSQL for the store tests (scripts/postgres-server.sh)"
trap stop_postgres EXIT
scripts/postgres-server.sh start "$pg_state"
POSTGRES_URL=$(cat "$pg_state/postgres.url")
POSTGRES_SOCKET_URL=$(cat "$pg_state/postgres-socket.url")
export POSTGRES_URL POSTGRES_SOCKET_URL

step "unit, store and HTTP tests"
swift test --skip-build

step "end-to-end: coupongate serve"
python3 scripts/serve_smoke.py "$(swift build --show-bin-path)/coupongate"
