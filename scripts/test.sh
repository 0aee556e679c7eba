#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this).
#
# Builds in debug mode (warnings are errors, see Package.swift), checks the
# formatting, runs every Swift Testing suite, then drives the real
# `coupongate serve` binary end to end (scripts/serve_smoke.py).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "format check (swift format lint)"
swift format lint --strict --recursive Package.swift Sources Tests

step "build (debug, with tests)"
swift build --build-tests

step "unit and HTTP tests"
swift test --skip-build

step "end-to-end: coupongate serve"
python3 scripts/serve_smoke.py "$(swift build --show-bin-path)/coupongate"
