#!/usr/bin/env bash
# The runs behind docs/REPORT.md: the seed's four phases, full length (about 18 minutes a stack),
# with `coupongate loadtest --stack` on each stack, then the stacks side by side with the seed.
#
#   loadtest/report-stacks.sh [STACK ...]     (default: embedded postgres mysql kafka)
#
# Environment:
#   COUPONGATE      the binary (default .build/release/coupongate, built with `swift build -c release` if missing)
#   OUT             where each stack's reports go, OUT/STACK/ (default docs/report)
#   DURATION_SCALE  default 1 (the seed's durations); 0.02 for a two-minute rehearsal
#
# Each run's results.json, report.md and charts/ land in OUT/STACK/; the comparison of every
# results.json named is OUT/comparison.md and OUT/comparison.html. Exit status 1 if an invariant broke.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$repo/docs/report}
scale=${DURATION_SCALE:-1}
stacks=("$@")
((${#stacks[@]} > 0)) || stacks=(embedded postgres mysql kafka)
bin=${COUPONGATE:-}
if [[ -z $bin ]]; then
    bin=$repo/.build/release/coupongate
    [[ -x $bin ]] || (cd "$repo" && swift build -c release --product coupongate)
fi

status=0
files=()
for stack in "${stacks[@]}"; do
    echo "report-stacks.sh: $stack, duration scale $scale, into $out/$stack" >&2
    "$bin" loadtest --stack "$stack" --duration-scale "$scale" --out "$out/$stack" || status=1
    files+=("$out/$stack/results.json")
done
if ((${#files[@]} > 1)); then
    "$bin" loadtest report --out "$out" "${files[@]}" || status=1
fi
exit $status
