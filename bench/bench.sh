#!/usr/bin/env bash
# CouponGate sold-out benchmark.
#
# What it measures: throughput (req/s) and p99 latency of the sold-out path,
# POST /coupon/apply answered with 422, next to GET /health/live, the cheapest
# route the server has, on the same machine, build and load.
#
# Why: in a drop nearly every request comes after the last coupon is gone and
# takes the sold-out path, so that path must cost about as little as the
# health endpoint. The bench fails when the median apply throughput falls
# below BENCH_MIN_RATIO (default 0.80) of the median health throughput.
#
# It also runs a second server with `--metrics off` and the same sold-out
# apply, alternating with the others: metrics must not cost the hot path more
# than 5 % (fails below BENCH_MIN_METRICS_RATIO, default 0.95, of the apply
# rate without metrics).
#
# How: builds the release binary (own scratch path .build-release), starts
# `coupongate serve` on a free local port with a fresh data dir and limit 1,
# sells the one coupon to user 1, then runs wrk alternately against health
# and apply (every apply request with a new userId, see bench/coupongate.lua),
# checking every status. wrk and the server share the machine (2 cores), so
# the server's CPU time is reported as well. Raw wrk output: bench/results/.
#
# Usage: bench/bench.sh   (from any directory)
#
# Environment:
#   BENCH_DURATION=10s       wrk duration of each run
#   BENCH_CONNECTIONS=100    wrk connections
#   BENCH_THREADS=2          wrk threads
#   BENCH_ROUNDS=2           health+apply rounds (at least 2); medians over rounds
#   BENCH_MIN_RATIO=0.80     fail when apply/health req/s is below this
#   BENCH_MIN_METRICS_RATIO=0.95  fail when apply with metrics / without is below this
#   BENCH_PORT=              port to serve on (default: a free one)
#   BENCH_BIN=               server binary to use instead of building the release one
#   BENCH_SKIP_BUILD=1       skip `swift build` when the release binary exists
#   BENCH_START_TIMEOUT=30   seconds to wait for /health/live after starting
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "$script_dir/.." && pwd)
cd -- "$repo_root"

duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-100}
threads=${BENCH_THREADS:-2}
rounds=${BENCH_ROUNDS:-2}
min_ratio=${BENCH_MIN_RATIO:-0.80}
min_metrics_ratio=${BENCH_MIN_METRICS_RATIO:-0.95}
port=${BENCH_PORT:-}
bin=${BENCH_BIN:-}
skip_build=${BENCH_SKIP_BUILD:-0}
start_timeout=${BENCH_START_TIMEOUT:-30}
lua_script=bench/coupongate.lua
log_tag=bench

# shellcheck source=bench/lib.sh
. "$script_dir/lib.sh"

is_uint "$rounds" && ((rounds >= 2)) || die "BENCH_ROUNDS must be an integer >= 2 (got '$rounds')"
is_uint "$threads" && ((threads >= 1)) || die "BENCH_THREADS must be a positive integer (got '$threads')"
is_uint "$connections" && ((connections >= threads)) || die "BENCH_CONNECTIONS must be an integer >= BENCH_THREADS (got '$connections')"
is_uint "$start_timeout" && ((start_timeout >= 1)) || die "BENCH_START_TIMEOUT must be a positive integer (got '$start_timeout')"
[[ $duration =~ ^[0-9]+[smh]?$ ]] || die "BENCH_DURATION must look like 10s, 2m or 30 (got '$duration')"
[[ $min_ratio =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_MIN_RATIO must be a number (got '$min_ratio')"
[[ -z $port ]] || { is_uint "$port" && ((port >= 1 && port <= 65535)); } || die "BENCH_PORT must be a port number (got '$port')"
[[ -f $lua_script ]] || die "missing $lua_script"

# --- tools --------------------------------------------------------------------
require_tools curl awk getconf
ensure_apt_tool wrk wrk

# --- build --------------------------------------------------------------------
build_release_bin

# --- server -------------------------------------------------------------------
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/coupongate-bench.XXXXXX")
results_dir=bench/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results_dir"
server_pid=
plain_pid=

cleanup() {
    local status=$?
    stop_pid "$server_pid"
    stop_pid "$plain_pid"
    [[ -f $work_dir/server.log ]] && cp "$work_dir/server.log" "$results_dir/server.log" 2>/dev/null || true
    rm -rf -- "$work_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -n $port ]] || port=$(free_port)
base_url=http://127.0.0.1:$port
admin_token=$(new_admin_token)
clk_tck=$(getconf CLK_TCK)

"$bin" serve --host 127.0.0.1 --port "$port" --data-dir "$work_dir/data" \
    --default-limit 1 --admin-token "$admin_token" --log-level warning \
    >"$work_dir/server.log" 2>&1 &
server_pid=$!
log "started $bin (pid $server_pid) on $base_url, data in $work_dir/data"

wait_http_200 "$base_url/health/live" /health/live "$server_pid" "$work_dir/server.log" "$start_timeout"
log "server is live"

# The same server with metrics off, for the metrics-cost comparison.
plain_port=$(free_port)
plain_url=http://127.0.0.1:$plain_port
"$bin" serve --host 127.0.0.1 --port "$plain_port" --data-dir "$work_dir/data-plain" \
    --default-limit 1 --admin-token "$admin_token" --log-level warning --metrics off \
    >"$work_dir/server-plain.log" 2>&1 &
plain_pid=$!
wait_http_200 "$plain_url/health/live" /health/live "$plain_pid" "$work_dir/server-plain.log" "$start_timeout"
log "server with --metrics off (pid $plain_pid) is live on $plain_url"

# utime + stime of the server, in clock ticks.
server_cpu_ticks() { proc_cpu_ticks "$server_pid"; }
cpu_pids=("$server_pid" "$plain_pid")
cpu_names=(server server-plain)

# --- sell out 'default' (limit 1) ---------------------------------------------
expect_status POST '/coupon/apply?userId=1' 200 "user 1 takes the only coupon"
expect_status POST '/coupon/apply?userId=2' 422 "user 2 finds it sold out"
base_url=$plain_url expect_status POST '/coupon/apply?userId=1' 200 "user 1 takes the only coupon (metrics off)"
base_url=$plain_url expect_status POST '/coupon/apply?userId=2' 422 "user 2 finds it sold out (metrics off)"

# --- wrk runs -----------------------------------------------------------------
declare -a health_rps=() health_p99=() apply_rps=() apply_p99=() plain_rps=() plain_p99=()

run_wrk() { # kind round
    local kind=$1 round=$2 out="$results_dir/round$2-$1.txt" url label mode=$1 cpu_index=0
    case $kind in
    health) url=$base_url/health/live label=health/live ;;
    apply) url=$base_url/coupon/apply label=sold-out-apply ;;
    apply-plain) url=$plain_url/coupon/apply label=apply-no-metrics mode=apply cpu_index=1 ;;
    esac
    wrk_run "$label" "$round" "$out" "$url" "$mode"
    case $kind in
    health)
        [[ -z $wrk_non2xx ]] || die "$label (round $round): $wrk_non2xx non-2xx/3xx responses ($out)"
        health_rps+=("$wrk_rps") health_p99+=("$wrk_p99")
        ;;
    apply) apply_rps+=("$wrk_rps") apply_p99+=("$wrk_p99") ;;
    apply-plain) plain_rps+=("$wrk_rps") plain_p99+=("$wrk_p99") ;;
    esac

    awk -v r="$round" -v l="$label" -v rps="$wrk_rps" -v p99="$wrk_p99" -v n="$wrk_requests" \
        -v t="${wrk_cpu[$cpu_index]}" -v hz="$clk_tck" 'BEGIN {
        cpu = t / hz
        printf "bench: round %d %-15s %9.0f req/s  p99 %7.2f ms  %9d requests  server CPU %6.2f s (%.1f us/req)\n",
            r, l, rps, p99, n, cpu, (n > 0 ? cpu * 1e6 / n : 0)
    }'
}

log "wrk: $rounds rounds of health + apply + apply without metrics, $duration each, $connections connections, $threads threads; raw output in $results_dir/"
cpu_start=$(server_cpu_ticks)
wall_start=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    run_wrk health "$round"
    run_wrk apply "$round"
    run_wrk apply-plain "$round"
done
cpu_end=$(server_cpu_ticks)
wall=$((SECONDS - wall_start))

# --- summary ------------------------------------------------------------------
h_rps=$(median "${health_rps[@]}")
h_p99=$(median "${health_p99[@]}")
a_rps=$(median "${apply_rps[@]}")
a_p99=$(median "${apply_p99[@]}")
n_rps=$(median "${plain_rps[@]}")
n_p99=$(median "${plain_p99[@]}")
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')

summary=$(awk -v hr="$h_rps" -v hp="$h_p99" -v ar="$a_rps" -v ap="$a_p99" -v min="$min_ratio" \
    -v t="$((cpu_end - cpu_start))" -v hz="$clk_tck" -v wall="$wall" -v cores="$cores" 'BEGIN {
    cpu = t / hz
    printf "bench: health/live median %.0f req/s (p99 %.2f ms) | sold-out apply median %.0f req/s (p99 %.2f ms) | ratio apply/health %.2f (target >= %.2f) | server CPU %.1f s in %d s of wrk (%.2f of %s cores)",
        hr, hp, ar, ap, (hr > 0 ? ar / hr : 0), min, cpu, wall, (wall > 0 ? cpu / wall : 0), cores
}')
metrics_summary=$(awk -v ar="$a_rps" -v ap="$a_p99" -v nr="$n_rps" -v np="$n_p99" -v min="$min_metrics_ratio" 'BEGIN {
    printf "bench: sold-out apply with metrics %.0f req/s (p99 %.2f ms) | without metrics %.0f req/s (p99 %.2f ms) | ratio %.3f (target >= %.2f)",
        ar, ap, nr, np, (nr > 0 ? ar / nr : 0), min
}')
echo "$summary"
echo "$metrics_summary"
{
    echo "$summary"
    echo "$metrics_summary"
    echo "binary: $bin; duration $duration, connections $connections, threads $threads, rounds $rounds"
} >"$results_dir/summary.txt"

failed=0
if ! awk -v hr="$h_rps" -v ar="$a_rps" -v min="$min_ratio" 'BEGIN { exit !(hr > 0 && ar / hr >= min) }'; then
    log "FAIL: sold-out apply is below ${min_ratio} of health/live throughput"
    failed=1
fi
if ! awk -v nr="$n_rps" -v ar="$a_rps" -v min="$min_metrics_ratio" 'BEGIN { exit !(nr > 0 && ar / nr >= min) }'; then
    log "FAIL: with metrics the sold-out apply is below ${min_metrics_ratio} of its rate without"
    failed=1
fi
((failed == 0)) || { log "results in $results_dir/"; exit 1; }
log "PASS (results in $results_dir/)"
