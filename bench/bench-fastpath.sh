#!/usr/bin/env bash
# The sold-out fast path against what the hardware allows, in one run.
#
# What it measures, alternating in each round on the same machine: the sold-out
# apply (POST /coupon/apply, answered in the channel pipeline), GET /health/live
# of the same server (Hummingbird's whole request path), the same apply with
# --sold-out-fast-path off, a bare SwiftNIO server answering the same 422
# (bench/nio-422, built here) and nginx answering it (one worker); req/s, P99
# and server CPU per request for each.
#
# Targets, medians of the rounds' ratios (each round's runs are seconds apart;
# this machine's speed drifts over minutes): sold-out apply >= 1.8x health,
# sold-out apply >= 0.8x bare SwiftNIO. Fails when one is missed.
#
# Usage: bench/bench-fastpath.sh   (from any directory)
#
# Environment (as bench/bench.sh): BENCH_DURATION=8s BENCH_CONNECTIONS=100
#   BENCH_THREADS=1 BENCH_ROUNDS=3 BENCH_BIN= BENCH_SKIP_BUILD=1
#   BENCH_MIN_HEALTH_RATIO=1.8 BENCH_MIN_NIO_RATIO=0.8 BENCH_START_TIMEOUT=30
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "$script_dir/.." && pwd)
cd -- "$repo_root"

duration=${BENCH_DURATION:-8s}
connections=${BENCH_CONNECTIONS:-100}
threads=${BENCH_THREADS:-1}
rounds=${BENCH_ROUNDS:-3}
min_health=${BENCH_MIN_HEALTH_RATIO:-1.8}
min_nio=${BENCH_MIN_NIO_RATIO:-0.8}
bin=${BENCH_BIN:-}
skip_build=${BENCH_SKIP_BUILD:-0}
start_timeout=${BENCH_START_TIMEOUT:-30}
lua_script=bench/coupongate.lua
log_tag=bench-fastpath

# shellcheck source=bench/lib.sh
. "$script_dir/lib.sh"

is_uint "$rounds" && ((rounds >= 1)) || die "BENCH_ROUNDS must be a positive integer (got '$rounds')"
[[ $duration =~ ^[0-9]+[smh]?$ ]] || die "BENCH_DURATION must look like 8s (got '$duration')"

require_tools curl awk getconf
ensure_apt_tool wrk wrk
ensure_apt_tool nginx nginx

build_release_bin
nio_bin=.build-nio422/release/nio-422
if [[ $skip_build != 1 || ! -x $nio_bin ]]; then
    log "building the bare SwiftNIO server: swift build -c release --package-path bench/nio-422 --scratch-path .build-nio422"
    swift build -c release --package-path bench/nio-422 --scratch-path .build-nio422
fi
[[ -x $nio_bin ]] || die "the build did not produce $nio_bin"

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/coupongate-bench-fastpath.XXXXXX")
results_dir=bench/results/fastpath-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results_dir"
fast_pid= slow_pid= nio_pid= nginx_pid=
cleanup() {
    local status=$?
    stop_pid "$fast_pid"
    stop_pid "$slow_pid"
    stop_pid "$nio_pid"
    stop_pid "$nginx_pid"
    cp "$work_dir"/*.log "$results_dir/" 2>/dev/null || true
    rm -rf -- "$work_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
clk_tck=$(getconf CLK_TCK)
admin_token=$(new_admin_token)

start_server() { # name fast-path(on|off) -> sets started_pid started_url
    local port
    port=$(free_port)
    "$bin" serve --host 127.0.0.1 --port "$port" --data-dir "$work_dir/data-$1" --default-limit 1 \
        --admin-token "$admin_token" --log-level warning --sold-out-fast-path "$2" >"$work_dir/$1.log" 2>&1 &
    started_pid=$!
    started_url=http://127.0.0.1:$port
    wait_http_200 "$started_url/health/live" "$1 /health/live" "$started_pid" "$work_dir/$1.log" "$start_timeout"
    base_url=$started_url expect_status POST '/coupon/apply?userId=1' 200 "$1: user 1 takes the only coupon"
    base_url=$started_url expect_status POST '/coupon/apply?userId=2' 422 "$1: user 2 finds it sold out"
}
start_server fast on
fast_pid=$started_pid fast_url=$started_url
start_server slow off
slow_pid=$started_pid slow_url=$started_url

nio_port=$(free_port)
"$nio_bin" "$nio_port" >"$work_dir/nio.log" 2>&1 &
nio_pid=$!
nio_url=http://127.0.0.1:$nio_port
wait_http_200 "$nio_url/health/live" "nio-422" "$nio_pid" "$work_dir/nio.log" "$start_timeout"

nginx_port=$(free_port)
mkdir -p "$work_dir/nginx"
cat >"$work_dir/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work_dir/nginx.log warn;
pid $work_dir/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work_dir/nginx;
    server {
        listen 127.0.0.1:$nginx_port;
        location = /health/live { default_type application/json; return 200 '{"status":"live"}'; }
        location / {
            default_type application/problem+json;
            return 422 '{"type":"urn:coupongate:problem:sold-out","title":"Sold out","status":422,"detail":"All coupons of campaign \'default\' have been issued.","campaign":"default"}';
        }
    }
}
CONF
nginx -c "$work_dir/nginx/nginx.conf" >"$work_dir/nginx-out.log" 2>&1 &
nginx_pid=$!
nginx_url=http://127.0.0.1:$nginx_port
wait_http_200 "$nginx_url/health/live" "nginx" "$nginx_pid" "$work_dir/nginx.log" "$start_timeout"

# CPU of the process each run loads (nginx: its master and worker).
cpu_pids=("$fast_pid" "$slow_pid" "$nio_pid" "tree:$nginx_pid")
cpu_names=(fast slow nio-422 nginx)
declare -A rps=() p99=()
run() { # kind round
    local kind=$1 round=$2 url mode=apply index label
    case $kind in
    apply) url=$fast_url/coupon/apply index=0 label=sold-out-apply ;;
    health) url=$fast_url/health/live index=0 label=health/live mode=health ;;
    slow) url=$slow_url/coupon/apply index=1 label=apply-via-router ;;
    nio) url=$nio_url/coupon/apply index=2 label=bare-swiftnio-422 ;;
    nginx) url=$nginx_url/coupon/apply index=3 label=nginx-422 ;;
    esac
    wrk_run "$label" "$round" "$results_dir/round$round-$kind.txt" "$url" "$mode"
    rps[$kind,$round]=$wrk_rps p99[$kind,$round]=$wrk_p99
    awk -v r="$round" -v l="$label" -v rps="$wrk_rps" -v p="$wrk_p99" -v n="$wrk_requests" -v t="${wrk_cpu[$index]}" -v hz="$clk_tck" 'BEGIN {
        printf "bench-fastpath: round %d %-18s %9.0f req/s  p99 %6.2f ms  server CPU %.1f us/req\n", r, l, rps, p, (n > 0 ? t / hz * 1e6 / n : 0) }'
}

log "$rounds rounds of sold-out apply, health, apply via the router, bare SwiftNIO, nginx: $duration each, $connections connections, $threads wrk thread(s)"
health_ratios=() nio_ratios=() router_ratios=() nginx_ratios=()
for ((round = 1; round <= rounds; round++)); do
    for kind in apply health slow nio nginx; do run "$kind" "$round"; done
    a=${rps[apply,$round]}
    health_ratios+=("$(awk -v a="$a" -v b="${rps[health,$round]}" 'BEGIN { printf "%.3f", a / b }')")
    nio_ratios+=("$(awk -v a="$a" -v b="${rps[nio,$round]}" 'BEGIN { printf "%.3f", a / b }')")
    router_ratios+=("$(awk -v a="$a" -v b="${rps[slow,$round]}" 'BEGIN { printf "%.3f", a / b }')")
    nginx_ratios+=("$(awk -v a="$a" -v b="${rps[nginx,$round]}" 'BEGIN { printf "%.3f", a / b }')")
done

h=$(median "${health_ratios[@]}") n=$(median "${nio_ratios[@]}") s=$(median "${router_ratios[@]}") x=$(median "${nginx_ratios[@]}")
summary="bench-fastpath: sold-out apply / health ${h} (rounds ${health_ratios[*]}; target >= $min_health) | / bare SwiftNIO ${n} (rounds ${nio_ratios[*]}; target >= $min_nio) | / the same apply via the router ${s} | / nginx ${x}"
echo "$summary"
echo "$summary" >"$results_dir/summary.txt"
failed=0
awk -v v="$h" -v m="$min_health" 'BEGIN { exit !(v >= m) }' || { log "FAIL: sold-out apply below ${min_health}x health"; failed=1; }
awk -v v="$n" -v m="$min_nio" 'BEGIN { exit !(v >= m) }' || { log "FAIL: sold-out apply below ${min_nio}x bare SwiftNIO"; failed=1; }
((failed == 0)) || { log "results in $results_dir/"; exit 1; }
log "PASS (results in $results_dir/)"
