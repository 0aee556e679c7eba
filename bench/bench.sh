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
port=${BENCH_PORT:-}
bin=${BENCH_BIN:-}
skip_build=${BENCH_SKIP_BUILD:-0}
start_timeout=${BENCH_START_TIMEOUT:-30}
lua_script=bench/coupongate.lua

log() { printf 'bench: %s\n' "$*"; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$rounds" && ((rounds >= 2)) || die "BENCH_ROUNDS must be an integer >= 2 (got '$rounds')"
is_uint "$threads" && ((threads >= 1)) || die "BENCH_THREADS must be a positive integer (got '$threads')"
is_uint "$connections" && ((connections >= threads)) || die "BENCH_CONNECTIONS must be an integer >= BENCH_THREADS (got '$connections')"
is_uint "$start_timeout" && ((start_timeout >= 1)) || die "BENCH_START_TIMEOUT must be a positive integer (got '$start_timeout')"
[[ $duration =~ ^[0-9]+[smh]?$ ]] || die "BENCH_DURATION must look like 10s, 2m or 30 (got '$duration')"
[[ $min_ratio =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_MIN_RATIO must be a number (got '$min_ratio')"
[[ -z $port ]] || { is_uint "$port" && ((port >= 1 && port <= 65535)); } || die "BENCH_PORT must be a port number (got '$port')"
[[ -f $lua_script ]] || die "missing $lua_script"

# --- tools --------------------------------------------------------------------
for tool in curl awk getconf; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
if ! command -v wrk >/dev/null; then
    log "wrk is missing; installing it with apt-get"
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "wrk is missing and installing it needs root (or sudo)"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y wrk
    command -v wrk >/dev/null || die "wrk is still missing after apt-get install"
fi

# --- build --------------------------------------------------------------------
release_bin=.build-release/release/coupongate
if [[ -n $bin ]]; then
    [[ -x $bin ]] || die "BENCH_BIN=$bin is not an executable file"
    log "using BENCH_BIN=$bin (no build)"
elif [[ $skip_build == 1 && -x $release_bin ]]; then
    bin=$release_bin
    log "BENCH_SKIP_BUILD=1: using the existing $bin"
else
    [[ $skip_build == 1 ]] && log "BENCH_SKIP_BUILD=1 but $release_bin is missing; building it"
    log "building: swift build -c release --scratch-path .build-release --product coupongate"
    swift build -c release --scratch-path .build-release --product coupongate
    bin=$release_bin
    [[ -x $bin ]] || die "the build did not produce $bin"
fi

# --- server -------------------------------------------------------------------
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/coupongate-bench.XXXXXX")
results_dir=bench/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results_dir"
server_pid=

cleanup() {
    local status=$?
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in {1..50}; do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    [[ -f $work_dir/server.log ]] && cp "$work_dir/server.log" "$results_dir/server.log" 2>/dev/null || true
    rm -rf -- "$work_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

server_log() {
    printf -- '--- server log (last 40 lines) ---\n' >&2
    tail -n 40 "$work_dir/server.log" >&2 || true
}

if [[ -z $port ]]; then
    command -v python3 >/dev/null || die "python3 is required to pick a free port (or set BENCH_PORT)"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
fi
base_url=http://127.0.0.1:$port
admin_token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n') # 32 hex characters
clk_tck=$(getconf CLK_TCK)

"$bin" serve --host 127.0.0.1 --port "$port" --data-dir "$work_dir/data" \
    --default-limit 1 --admin-token "$admin_token" --log-level warning \
    >"$work_dir/server.log" 2>&1 &
server_pid=$!
log "started $bin (pid $server_pid) on $base_url, data in $work_dir/data"

deadline=$((SECONDS + start_timeout))
until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$base_url/health/live" || true) == 200 ]]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        server_log
        die "the server exited before /health/live answered 200"
    fi
    if ((SECONDS >= deadline)); then
        server_log
        die "/health/live did not answer 200 within ${start_timeout}s"
    fi
    sleep 0.2
done
log "server is live"

# utime + stime of the server, in clock ticks.
server_cpu_ticks() {
    local stat rest fields
    stat=$(<"/proc/$server_pid/stat") || die "cannot read /proc/$server_pid/stat (did the server exit?)"
    rest=${stat##*) } # the command name may hold spaces; fields after it start at 3 (state)
    read -r -a fields <<<"$rest"
    echo $((fields[11] + fields[12]))
}

# --- sell out 'default' (limit 1) ---------------------------------------------
expect_status() { # method path expected_status label
    local body=$work_dir/body status
    status=$(curl -s -o "$body" -w '%{http_code}' --max-time 5 -X "$1" "$base_url$2" || true)
    if [[ $status != "$3" ]]; then
        printf 'bench: %s: HTTP %s, body:\n%s\n' "$4" "$status" "$(cat "$body" 2>/dev/null)" >&2
        die "$4: expected HTTP $3 from $1 $2"
    fi
    log "$4: $1 $2 -> $status"
}
expect_status POST '/coupon/apply?userId=1' 200 "user 1 takes the only coupon"
expect_status POST '/coupon/apply?userId=2' 422 "user 2 finds it sold out"

# --- wrk runs -----------------------------------------------------------------
# to_ms VALUE: a wrk duration (12.34us, 1.20ms, 1.05s, 1.00m) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v; sub(/[a-z]+$/, "", n); u = substr(v, length(n) + 1)
        if (u == "us") f = 0.001; else if (u == "ms") f = 1; else if (u == "s") f = 1000
        else if (u == "m") f = 60000; else if (u == "h") f = 3600000; else exit 1
        printf "%.3f", n * f
    }'
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -a health_rps=() health_p99=() apply_rps=() apply_p99=()

run_wrk() { # kind round
    local kind=$1 round=$2 out="$results_dir/round$2-$1.txt" url label
    if [[ $kind == health ]]; then url=$base_url/health/live label=health/live; else url=$base_url/coupon/apply label=sold-out-apply; fi
    local cpu_before cpu_after
    cpu_before=$(server_cpu_ticks)
    if ! wrk -t "$threads" -c "$connections" -d "$duration" --latency -s "$lua_script" "$url" -- "$kind" >"$out" 2>&1; then
        cat "$out" >&2
        die "wrk failed for $label (round $round); output in $out"
    fi
    cpu_after=$(server_cpu_ticks)

    local rps p99_raw p99 requests check socket_errors non2xx
    rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$out")
    p99_raw=$(awk '/Latency Distribution/ { d = 1; next } d && $1 == "99%" { print $2; exit }' "$out")
    requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
    check=$(grep '^coupongate-check:' "$out" || true)
    socket_errors=$(grep 'Socket errors:' "$out" || true)
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2 }' "$out")

    [[ -n $rps && -n $p99_raw && -n $requests && -n $check ]] || { cat "$out" >&2; die "cannot parse the wrk output of $label (round $round): $out"; }
    p99=$(to_ms "$p99_raw") || die "unknown latency unit in '$p99_raw' ($out)"
    [[ -z $socket_errors ]] || die "$label (round $round): wrk reported${socket_errors#*Socket errors:} ($out)"
    ((requests > 0)) || die "$label (round $round): no requests completed ($out)"
    local unexpected responses
    unexpected=$(sed -n 's/.* unexpected=\([0-9]*\).*/\1/p' <<<"$check")
    responses=$(sed -n 's/.* responses=\([0-9]*\).*/\1/p' <<<"$check")
    [[ $check == *" mode=$kind "* ]] || die "$label (round $round): wrk ran the Lua script in another mode: $check ($out)"
    [[ $unexpected == 0 && $responses -gt 0 ]] || die "$label (round $round): unexpected statuses: ${check#coupongate-check: } ($out)"
    if [[ $kind == health ]]; then
        [[ -z $non2xx ]] || die "$label (round $round): $non2xx non-2xx/3xx responses ($out)"
        health_rps+=("$rps") health_p99+=("$p99")
    else
        apply_rps+=("$rps") apply_p99+=("$p99")
    fi

    awk -v r="$round" -v l="$label" -v rps="$rps" -v p99="$p99" -v n="$requests" \
        -v t="$((cpu_after - cpu_before))" -v hz="$clk_tck" 'BEGIN {
        cpu = t / hz
        printf "bench: round %d %-15s %9.0f req/s  p99 %7.2f ms  %9d requests  server CPU %6.2f s (%.1f us/req)\n",
            r, l, rps, p99, n, cpu, (n > 0 ? cpu * 1e6 / n : 0)
    }'
}

log "wrk: $rounds rounds of health + apply, $duration each, $connections connections, $threads threads; raw output in $results_dir/"
cpu_start=$(server_cpu_ticks)
wall_start=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    run_wrk health "$round"
    run_wrk apply "$round"
done
cpu_end=$(server_cpu_ticks)
wall=$((SECONDS - wall_start))

# --- summary ------------------------------------------------------------------
h_rps=$(median "${health_rps[@]}")
h_p99=$(median "${health_p99[@]}")
a_rps=$(median "${apply_rps[@]}")
a_p99=$(median "${apply_p99[@]}")
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')

summary=$(awk -v hr="$h_rps" -v hp="$h_p99" -v ar="$a_rps" -v ap="$a_p99" -v min="$min_ratio" \
    -v t="$((cpu_end - cpu_start))" -v hz="$clk_tck" -v wall="$wall" -v cores="$cores" 'BEGIN {
    cpu = t / hz
    printf "bench: health/live median %.0f req/s (p99 %.2f ms) | sold-out apply median %.0f req/s (p99 %.2f ms) | ratio apply/health %.2f (target >= %.2f) | server CPU %.1f s in %d s of wrk (%.2f of %s cores)",
        hr, hp, ar, ap, (hr > 0 ? ar / hr : 0), min, cpu, wall, (wall > 0 ? cpu / wall : 0), cores
}')
echo "$summary"
{
    echo "$summary"
    echo "binary: $bin; duration $duration, connections $connections, threads $threads, rounds $rounds"
} >"$results_dir/summary.txt"

if awk -v hr="$h_rps" -v ar="$a_rps" -v min="$min_ratio" 'BEGIN { exit !(hr > 0 && ar / hr >= min) }'; then
    log "PASS (results in $results_dir/)"
else
    log "FAIL: sold-out apply is below ${min_ratio} of health/live throughput (results in $results_dir/)"
    exit 1
fi
