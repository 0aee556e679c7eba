#!/usr/bin/env bash
# CouponGate distributed-mode benchmark (Redis gate + PostgreSQL store + relay).
#
# What it measures, on one machine and one build, with wrk:
#   - GET /health/live, the cheapest route, as the yardstick;
#   - the sold-out path, POST /coupon/apply answered 422 (campaign 'default',
#     limit 1, sold out first), target >= BENCH_MIN_RATIO_SOLDOUT (0.80) of health;
#   - the winning path, POST /campaigns/bench-win/apply answered 200, every
#     request a new user of a campaign with limit 100,000,000, target >=
#     BENCH_MIN_RATIO_WIN (0.50) of health;
# and, with redis-benchmark at the same concurrency against the same Redis,
# EVALSHA of the gate script itself (Sources/CouponRedis/Lua/issue.lua)
# for winners and for a sold-out campaign: what Redis alone can do; and the
# seed's flow in nginx + Lua (bench/nginx-lua/: SADD, INCR, XADD per request,
# Debian's nginx and libnginx-mod-http-lua, installed with apt-get if missing)
# on the same Redis, with wrk in the same way: CouponGate must beat it on
# req/s and P99 on both the sold-out and the winning path.
#
# How: builds the release binary (scratch path .build-release, shared with
# bench.sh), starts a private redis-server (loopback, free port, appendonly
# yes, appendfsync always, no RDB, data in a temp dir) and a throwaway
# PostgreSQL (servers/postgres-server.sh), then `coupongate serve --redis
# --postgres --with-relay --default-limit 1`. Each round runs health,
# sold-out and winning wrk runs, checking every status; after a winning run
# it waits until the relay has written all its coupons to PostgreSQL, so the
# relay's work does not leak into the next run (that CPU is reported as the
# relay catch-up). CPU seconds of coupongate, redis-server and PostgreSQL (the
# postmaster and its children) come from /proc/PID/stat; wrk shares the 2 cores. At the end PostgreSQL must hold exactly the coupons Redis
# issued for bench-win, and at least as many as wrk saw 200s for (a request
# still in flight when wrk stops may win without wrk counting it).
# Everything started is stopped on exit. Raw output: bench/results/<time>-distributed/.
#
# Usage: bench/bench-distributed.sh   (from any directory)
#
# Environment (the first ones as in bench.sh):
#   BENCH_DURATION=10s              wrk duration of each run
#   BENCH_CONNECTIONS=100           wrk connections, and redis-benchmark clients
#   BENCH_THREADS=2                 wrk threads
#   BENCH_ROUNDS=3                  rounds (at least 2); medians over rounds
#   BENCH_PORT=                     port of coupongate (default: a free one)
#   BENCH_BIN=                      server binary to use instead of building the release one
#   BENCH_SKIP_BUILD=1              skip `swift build` when the release binary exists
#   BENCH_START_TIMEOUT=30          seconds to wait for /health/live (and for redis-server)
#   BENCH_READY_TIMEOUT=60          seconds to wait for /health/ready
#   BENCH_MIN_RATIO_SOLDOUT=0.80    fail when sold-out/health req/s is below this (default: BENCH_MIN_RATIO, else 0.80)
#   BENCH_MIN_RATIO_WIN=0.50        fail when winning/health req/s is below this
#   BENCH_REDIS_REQUESTS=200000     EVALSHA calls per redis-benchmark run
#   BENCH_RELAY_TIMEOUT=60          seconds the relay may take to catch up
#   BENCH_RELAY=separate            separate: a relay process paused during wrk runs; inline: serve --with-relay
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "$script_dir/.." && pwd)
cd -- "$repo_root"

duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-100}
threads=${BENCH_THREADS:-2}
rounds=${BENCH_ROUNDS:-3}
min_ratio_soldout=${BENCH_MIN_RATIO_SOLDOUT:-${BENCH_MIN_RATIO:-0.80}}
min_ratio_win=${BENCH_MIN_RATIO_WIN:-0.50}
port=${BENCH_PORT:-}
bin=${BENCH_BIN:-}
skip_build=${BENCH_SKIP_BUILD:-0}
start_timeout=${BENCH_START_TIMEOUT:-30}
ready_timeout=${BENCH_READY_TIMEOUT:-60}
redis_requests=${BENCH_REDIS_REQUESTS:-200000}
relay_timeout=${BENCH_RELAY_TIMEOUT:-60}
relay_mode=${BENCH_RELAY:-separate}
lua_script=bench/coupongate.lua
issue_lua=Sources/CouponRedis/Lua/issue.lua
win_campaign=bench-win
log_tag=bench-distributed

# shellcheck source=bench/lib.sh
. "$script_dir/lib.sh"

is_uint "$rounds" && ((rounds >= 2 && rounds <= 9000)) || die "BENCH_ROUNDS must be an integer from 2 to 9000 (got '$rounds')"
is_uint "$threads" && ((threads >= 1 && threads <= 9999)) || die "BENCH_THREADS must be an integer from 1 to 9999 (got '$threads')"
is_uint "$connections" && ((connections >= threads)) || die "BENCH_CONNECTIONS must be an integer >= BENCH_THREADS (got '$connections')"
is_uint "$start_timeout" && ((start_timeout >= 1)) || die "BENCH_START_TIMEOUT must be a positive integer (got '$start_timeout')"
is_uint "$ready_timeout" && ((ready_timeout >= 1)) || die "BENCH_READY_TIMEOUT must be a positive integer (got '$ready_timeout')"
is_uint "$relay_timeout" && ((relay_timeout >= 1)) || die "BENCH_RELAY_TIMEOUT must be a positive integer (got '$relay_timeout')"
[[ $relay_mode == separate || $relay_mode == inline ]] || die "BENCH_RELAY must be separate or inline (got '$relay_mode')"
is_uint "$redis_requests" && ((redis_requests >= 1)) || die "BENCH_REDIS_REQUESTS must be a positive integer (got '$redis_requests')"
[[ $duration =~ ^[0-9]+[smh]?$ ]] || die "BENCH_DURATION must look like 10s, 2m or 30 (got '$duration')"
[[ $min_ratio_soldout =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_MIN_RATIO_SOLDOUT must be a number (got '$min_ratio_soldout')"
[[ $min_ratio_win =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_MIN_RATIO_WIN must be a number (got '$min_ratio_win')"
[[ -z $port ]] || { is_uint "$port" && ((port >= 1 && port <= 65535)); } || die "BENCH_PORT must be a port number (got '$port')"
[[ -f $lua_script ]] || die "missing $lua_script"
[[ -f $issue_lua ]] || die "missing $issue_lua"
[[ -x servers/postgres-server.sh ]] || die "missing servers/postgres-server.sh"

# --- tools --------------------------------------------------------------------
require_tools curl awk getconf sha1sum
ensure_apt_tool wrk wrk
ensure_apt_tool redis-server redis-server
ensure_apt_tool redis-cli redis-tools
ensure_apt_tool redis-benchmark redis-tools

# --- build --------------------------------------------------------------------
build_release_bin

# --- cleanup ------------------------------------------------------------------
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/coupongate-bench-distributed.XXXXXX")
results_dir=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-distributed
mkdir -p "$results_dir"
server_pid=
redis_pid=
relay_pid=
nginx_pid=
pg_state=

cleanup() {
    local status=$?
    [[ -n $relay_pid ]] && kill -CONT "$relay_pid" 2>/dev/null
    stop_pid "$relay_pid"
    stop_pid "$server_pid"
    stop_pid "$nginx_pid"
    stop_pid "$redis_pid"
    if [[ -n $pg_state ]]; then
        servers/postgres-server.sh stop "$pg_state" >/dev/null 2>&1 \
            || printf '%s: warning: servers/postgres-server.sh stop %s failed\n' "$log_tag" "$pg_state" >&2
    fi
    local f
    for f in server.log relay.log redis.log; do
        [[ -f $work_dir/$f ]] && cp "$work_dir/$f" "$results_dir/$f" 2>/dev/null || true
    done
    rm -rf -- "$work_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

clk_tck=$(getconf CLK_TCK)

# --- redis-server -------------------------------------------------------------
redis_port=$(free_port)
mkdir -p "$work_dir/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes \
    --save "" --appendonly yes --appendfsync always --dir "$work_dir/redis" \
    --daemonize no --loglevel warning >"$work_dir/redis.log" 2>&1 &
redis_pid=$!
rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
deadline=$((SECONDS + start_timeout))
until [[ $(rcli PING 2>/dev/null || true) == PONG ]]; do
    kill -0 "$redis_pid" 2>/dev/null || { show_log "$work_dir/redis.log" redis-server; die "redis-server exited at start"; }
    ((SECONDS < deadline)) || { show_log "$work_dir/redis.log" redis-server; die "redis-server did not answer PING within ${start_timeout}s"; }
    sleep 0.1
done
log "started $(redis-server --version | awk '{ print $1, $2, $3 }') (pid $redis_pid) on 127.0.0.1:$redis_port, appendonly yes, appendfsync always, data in $work_dir/redis"

# --- PostgreSQL ---------------------------------------------------------------
pg_state=$work_dir/postgres
servers/postgres-server.sh start "$pg_state" >/dev/null || die "servers/postgres-server.sh start failed"
[[ -s $pg_state/postgres.url ]] || die "servers/postgres-server.sh wrote no $pg_state/postgres.url"
pg_url=$(<"$pg_state/postgres.url")
ensure_apt_tool psql postgresql-client
pg_port=$(<"$pg_state/port")
pg_cluster=$(<"$pg_state/cluster")
pg_pid=$(head -n 1 "$pg_cluster/data/postmaster.pid") # the postmaster; its children are the backends
is_uint "$pg_pid" || die "cannot read the postmaster's pid from $pg_cluster/data/postmaster.pid"
log "started PostgreSQL ($(psql "$pg_url" -Atc 'SHOW server_version')) on 127.0.0.1:$pg_port via servers/postgres-server.sh"

# --- coupongate ---------------------------------------------------------------
[[ -n $port ]] || port=$(free_port)
base_url=http://127.0.0.1:$port
admin_token=$(new_admin_token)

# separate (default): the relay is its own process, paused (SIGSTOP) during each
# wrk run and resumed to catch up between runs, so a run measures the API path
# as deployed with relays on other cores; inline: serve --with-relay, the relay
# competing for the same two cores during the runs.
relay_flag=()
[[ $relay_mode == inline ]] && relay_flag=(--with-relay)
"$bin" serve --host 127.0.0.1 --port "$port" \
    --redis "redis://127.0.0.1:$redis_port" --postgres "$pg_url" "${relay_flag[@]}" \
    --admin-token "$admin_token" --default-limit 1 --log-level warning \
    >"$work_dir/server.log" 2>&1 &
server_pid=$!
if [[ $relay_mode == separate ]]; then
    "$bin" relay --redis "redis://127.0.0.1:$redis_port" --postgres "$pg_url" --log-level warning >"$work_dir/relay.log" 2>&1 &
    relay_pid=$!
    log "started $bin (pid $server_pid) on $base_url and a relay process (pid $relay_pid), paused during wrk runs"
else
    log "started $bin (pid $server_pid) on $base_url, distributed mode with the relay in-process"
fi
wait_http_200 "$base_url/health/live" /health/live "$server_pid" "$work_dir/server.log" "$start_timeout"
log "server is live"
wait_http_200 "$base_url/health/ready" /health/ready "$server_pid" "$work_dir/server.log" "$ready_timeout"
log "server is ready"

cpu_pids=("$server_pid" "$redis_pid" "tree:$pg_pid")
cpu_names=(server redis-server PostgreSQL)

# --- campaigns ----------------------------------------------------------------
expect_status POST /admin/campaigns 201 "create campaign $win_campaign (limit 100000000)" \
    -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    --data "{\"id\":\"$win_campaign\",\"name\":\"bench win\",\"limit\":100000000}"
expect_status POST '/coupon/apply?userId=1' 200 "user 1 takes the only coupon"
expect_status POST '/coupon/apply?userId=2' 422 "user 2 finds it sold out"

# --- relay --------------------------------------------------------------------
db_coupons() { psql "$pg_url" -Atc "SELECT count(*) FROM coupons WHERE campaign_id='$win_campaign'"; }
redis_issued() { local n; n=$(rcli GET "{c:$win_campaign}:issued"); echo "${n:-0}"; }

# wait_relay: waits (BENCH_RELAY_TIMEOUT) until PostgreSQL holds every coupon Redis
# issued for the winning campaign; sets relay_db, relay_issued, relay_wait (s).
wait_relay() {
    local start=$SECONDS deadline=$((SECONDS + relay_timeout))
    while :; do
        relay_issued=$(redis_issued)
        relay_db=$(db_coupons) || die "cannot count the coupons in PostgreSQL"
        ((relay_db >= relay_issued)) && break
        ((SECONDS < deadline)) || break
        sleep 0.2
    done
    relay_wait=$((SECONDS - start))
}

# --- wrk runs -----------------------------------------------------------------
declare -a health_rps=() health_p99=() sold_rps=() sold_p99=() win_rps=() win_p99=()
declare -a health_us=() sold_us=() win_us=() health_rus=() sold_rus=() win_rus=() health_pus=() sold_pus=() win_pus=()
wrk_cpu_server=0 wrk_cpu_redis=0 wrk_cpu_pg=0 wrk_wall=0 win_200=0 relay_cpu=0

# per_request TICKS: microseconds of CPU per request of the last wrk run.
per_request() { awk -v t="$1" -v hz="$clk_tck" -v n="$wrk_requests" 'BEGIN { printf "%.3f", t / hz * 1e6 / n }'; }

run_wrk() { # kind round
    local kind=$1 round=$2 out="$results_dir/round$2-$1.txt" url label args=()
    case $kind in
    health) url=$base_url/health/live label=health/live ;;
    apply) url=$base_url/coupon/apply label=sold-out-apply ;;
    win) url=$base_url label=winning-apply args=("/campaigns/$win_campaign/apply" "$round") ;;
    esac
    local t0=$SECONDS
    [[ -n $relay_pid ]] && kill -STOP "$relay_pid"
    wrk_run "$label" "$round" "$out" "$url" "$kind" "${args[@]}"
    [[ -n $relay_pid ]] && kill -CONT "$relay_pid"
    wrk_wall=$((wrk_wall + SECONDS - t0))
    wrk_cpu_server=$((wrk_cpu_server + wrk_cpu[0]))
    wrk_cpu_redis=$((wrk_cpu_redis + wrk_cpu[1]))
    wrk_cpu_pg=$((wrk_cpu_pg + wrk_cpu[2]))
    [[ $kind == apply || -z $wrk_non2xx ]] || die "$label (round $round): $wrk_non2xx non-2xx/3xx responses ($out)"
    local us rus pus
    us=$(per_request "${wrk_cpu[0]}") rus=$(per_request "${wrk_cpu[1]}") pus=$(per_request "${wrk_cpu[2]}")
    case $kind in
    health) health_rps+=("$wrk_rps") health_p99+=("$wrk_p99") health_us+=("$us") health_rus+=("$rus") health_pus+=("$pus") ;;
    apply) sold_rps+=("$wrk_rps") sold_p99+=("$wrk_p99") sold_us+=("$us") sold_rus+=("$rus") sold_pus+=("$pus") ;;
    win) win_rps+=("$wrk_rps") win_p99+=("$wrk_p99") win_us+=("$us") win_rus+=("$rus") win_pus+=("$pus") win_200=$((win_200 + wrk_responses)) ;;
    esac

    awk -v tag="$log_tag" -v r="$round" -v l="$label" -v rps="$wrk_rps" -v p99="$wrk_p99" -v n="$wrk_requests" \
        -v t="${wrk_cpu[0]}" -v rt="${wrk_cpu[1]}" -v pt="${wrk_cpu[2]}" -v hz="$clk_tck" 'BEGIN {
        cpu = t / hz; rcpu = rt / hz; pcpu = pt / hz
        printf "%s: round %d %-15s %9.0f req/s  p99 %7.2f ms  %9d requests  CPU coupongate %6.2f s (%.1f us/req), redis %.2f s (%.1f us/req), postgres %.2f s (%.1f us/req)\n",
            tag, r, l, rps, p99, n, cpu, cpu * 1e6 / n, rcpu, rcpu * 1e6 / n, pcpu, pcpu * 1e6 / n
    }'

    if [[ $kind == win ]]; then
        local before after
        before=$(proc_cpu_ticks "$server_pid")
        wait_relay
        after=$(proc_cpu_ticks "$server_pid")
        relay_cpu=$((relay_cpu + after - before))
        ((relay_db == relay_issued)) || die "round $round: after ${relay_timeout}s PostgreSQL holds $relay_db coupons of $win_campaign, Redis issued $relay_issued"
        awk -v tag="$log_tag" -v r="$round" -v w="$relay_wait" -v db="$relay_db" -v t="$((after - before))" -v hz="$clk_tck" 'BEGIN {
            printf "%s: round %d relay caught up in %d s: %d coupons in PostgreSQL, coupongate CPU %.2f s meanwhile\n", tag, r, w, db, t / hz
        }'
    fi
}

log "wrk: $rounds rounds of health + sold-out + winning apply, $duration each, $connections connections, $threads threads; raw output in $results_dir/"
for ((round = 1; round <= rounds; round++)); do
    run_wrk health "$round"
    run_wrk apply "$round"
    run_wrk win "$round"
done

# --- nginx + Lua baseline -----------------------------------------------------
[[ -f /usr/share/nginx/modules/ngx_http_lua_module.so ]] || {
    ensure_apt_tool nginx nginx
    log "installing libnginx-mod-http-lua with apt-get"
    apt-get install -y -qq libnginx-mod-http-lua >/dev/null
}
ensure_apt_tool nginx nginx
nginx_dir=$work_dir/nginx
mkdir -p "$nginx_dir"
nginx_port=$(free_port)
sed -e "s|@PORT@|$nginx_port|" -e "s|@REDIS_PORT@|$redis_port|" -e "s|@DIR@|$nginx_dir|g" \
    -e "s|@LUA@|$repo_root/bench/nginx-lua/apply.lua|" bench/nginx-lua/nginx.conf.template >"$nginx_dir/nginx.conf"
nginx -c "$nginx_dir/nginx.conf" >"$nginx_dir/out.log" 2>&1 &
nginx_pid=$!
nginx_url=http://127.0.0.1:$nginx_port
wait_http_200 "$nginx_url/health/live" "nginx /health/live" "$nginx_pid" "$nginx_dir/error.log" "$start_timeout"
declare -a ngx_health_rps=() ngx_health_p99=() ngx_sold_rps=() ngx_sold_p99=() ngx_win_rps=() ngx_win_p99=()
run_nginx() { # kind round
    local kind=$1 round=$2 out="$results_dir/round$2-nginx-$1.txt" url label args=()
    case $kind in
    health) url=$nginx_url/health/live label=nginx-hello ;;
    apply)
        url=$nginx_url/coupon/apply label=nginx-sold-out
        # The seed records every applicant, so wrk's user ids of an earlier round would
        # now get 409: start each round as the seed did, from an empty set, sold out.
        rcli DEL nginx:default:applied_user >/dev/null
        rcli SET nginx:default:coupon_count 1 >/dev/null
        ;;
    win) url=$nginx_url label=nginx-winning args=("/campaigns/bench-win/apply" "$((round + 100))") ;;
    esac
    wrk_run "$label" "$round" "$out" "$url" "$kind" "${args[@]}"
    case $kind in
    health) ngx_health_rps+=("$wrk_rps") ngx_health_p99+=("$wrk_p99") ;;
    apply) ngx_sold_rps+=("$wrk_rps") ngx_sold_p99+=("$wrk_p99") ;;
    win) ngx_win_rps+=("$wrk_rps") ngx_win_p99+=("$wrk_p99") ;;
    esac
    awk -v tag="$log_tag" -v r="$round" -v l="$label" -v rps="$wrk_rps" -v p99="$wrk_p99" -v n="$wrk_requests" 'BEGIN {
        printf "%s: round %d %-15s %9.0f req/s  p99 %7.2f ms  %9d requests\n", tag, r, l, rps, p99, n
    }'
}
log "nginx + Lua (the seed's SADD + INCR + XADD) on the same Redis: $rounds rounds of hello + sold-out + winning"
for ((round = 1; round <= rounds; round++)); do
    run_nginx health "$round"
    run_nginx apply "$round"
    run_nginx win "$round"
done
stop_pid "$nginx_pid"
nginx_pid=

# --- relay check --------------------------------------------------------------
wait_relay
winners=$(rcli HLEN "{c:$win_campaign}:winners")
log "relay: PostgreSQL holds $relay_db coupons of $win_campaign; Redis issued $relay_issued ($winners winners); wrk counted $win_200 responses 200"
relay_ok=1
relay_note="PostgreSQL $relay_db = Redis issued $relay_issued"
if ((relay_db != relay_issued || winners != relay_issued)); then
    relay_ok=0 relay_note="PostgreSQL $relay_db != Redis issued $relay_issued (winners $winners)"
elif ((relay_db < win_200)); then
    relay_ok=0 relay_note="PostgreSQL $relay_db < $win_200 responses 200"
elif ((relay_db > win_200 + connections * rounds)); then
    relay_ok=0 relay_note="PostgreSQL $relay_db > $win_200 responses 200 + $((connections * rounds)) possibly in flight"
elif ((relay_db == win_200)); then
    relay_note="$relay_db = wrk's $win_200 responses 200"
else
    relay_note="$relay_db = Redis issued; wrk counted $win_200 responses 200 (+$((relay_db - win_200)) in flight when wrk stopped)"
fi

# --- redis-benchmark: EVALSHA of the gate script ------------------------------
# IssueScript.source is Lua/issue.lua as it is (SwiftPM embeds the file's bytes): the same text,
# so the same SHA1.
cp "$issue_lua" "$results_dir/issue.lua"
issue_sha=$(sha1sum <"$issue_lua" | awk '{ print $1 }')
# The server loaded the script on the first winning request: the same text has the same SHA1.
[[ $(rcli SCRIPT EXISTS "$issue_sha") == 1 ]] \
    || die "$issue_lua (sha1 $issue_sha) is not a script the server loaded into Redis"
loaded_sha=$(rcli -x SCRIPT LOAD <"$issue_lua") # -x: the file as it is, its last newline too
[[ $loaded_sha == "$issue_sha" ]] || die "SCRIPT LOAD answered '$loaded_sha', expected $issue_sha"
log "gate script: $issue_lua, sha1 $issue_sha, the one the server runs"

rb_keys() { printf '{c:%s}:meta {c:%s}:issued {c:%s}:winners {c:%s}:outbox {c:%s}:idem' "$1" "$1" "$1" "$1" "$1"; }
rcli HSET '{c:rbench}:meta' limit 1000000000 startsAt "" endsAt "" epoch 1 >/dev/null
rcli HSET '{c:rsold}:meta' limit 1 startsAt "" endsAt "" epoch 1 >/dev/null
rcli SET '{c:rsold}:issued' 1 >/dev/null

declare -a rbw_rps=() rbw_p99=() rbs_rps=() rbs_p99=()
run_redis_benchmark() { # kind (win|soldout) round
    local kind=$1 round=$2 campaign out="$results_dir/round$2-redis-benchmark-$1.csv" label
    if [[ $kind == win ]]; then campaign=rbench label="EVALSHA win"; else campaign=rsold label="EVALSHA sold-out"; fi
    local issued_before winners_before
    issued_before=$(rcli GET "{c:$campaign}:issued"); issued_before=${issued_before:-0}
    winners_before=$(rcli HLEN "{c:$campaign}:winners")
    local before after
    before=$(proc_cpu_ticks "$redis_pid" redis-server)
    # shellcheck disable=SC2046 # the keys are one word each
    if ! redis-benchmark -h 127.0.0.1 -p "$redis_port" -c "$connections" -n "$redis_requests" -r 1000000000 --csv \
        EVALSHA "$issue_sha" 5 $(rb_keys "$campaign") "$campaign" 0 0 __rand_int__ - g:__rand_int__ >"$out" 2>"$out.stderr"; then
        cat "$out" "$out.stderr" >&2
        die "redis-benchmark failed ($label, round $round); output in $out"
    fi
    after=$(proc_cpu_ticks "$redis_pid" redis-server)
    [[ -s $out.stderr ]] && { cat "$out.stderr" >&2; die "redis-benchmark wrote errors ($label, round $round): $out.stderr"; }
    rm -f "$out.stderr"

    local rps p99
    rps=$(awk -F'","' '/^"EVALSHA/ { print $2; exit }' "$out")
    p99=$(awk -F'","' '/^"EVALSHA/ { print $7; exit }' "$out")
    [[ $rps =~ ^[0-9.]+$ && $p99 =~ ^[0-9.]+$ ]] || { cat "$out" >&2; die "cannot parse the redis-benchmark output ($label, round $round): $out"; }

    # Check what the calls did: redis-benchmark does not count error replies.
    local issued winners outbox new
    issued=$(rcli GET "{c:$campaign}:issued"); issued=${issued:-0}
    winners=$(rcli HLEN "{c:$campaign}:winners")
    outbox=$(rcli XLEN "{c:$campaign}:outbox")
    new=$((issued - issued_before))
    if [[ $kind == win ]]; then
        # Random users out of 10^9: a few repeat (DUP answers), nearly all must win.
        ((new == winners - winners_before && outbox == issued && new * 100 >= redis_requests * 99)) \
            || die "$label (round $round): $new new coupons for $redis_requests calls (winners $winners, outbox $outbox); did the calls fail?"
        rbw_rps+=("$rps") rbw_p99+=("$p99")
    else
        ((new == 0 && winners == 0 && outbox == 0)) || die "$label (round $round): the sold-out campaign changed (issued $issued, winners $winners, outbox $outbox)"
        rbs_rps+=("$rps") rbs_p99+=("$p99")
    fi
    awk -v tag="$log_tag" -v r="$round" -v l="$label" -v rps="$rps" -v p99="$p99" -v n="$redis_requests" -v new="$new" \
        -v t="$((after - before))" -v hz="$clk_tck" 'BEGIN {
        cpu = t / hz
        printf "%s: round %d %-16s %9.0f req/s  p99 %7.2f ms  %9d calls (%d new coupons)  redis CPU %6.2f s (%.1f us/call)\n",
            tag, r, l, rps, p99, n, new, cpu, cpu * 1e6 / n
    }'
}

log "redis-benchmark: $rounds rounds of EVALSHA win + sold-out, $redis_requests calls, $connections clients"
for ((round = 1; round <= rounds; round++)); do
    run_redis_benchmark win "$round"
    run_redis_benchmark soldout "$round"
done

# --- summary ------------------------------------------------------------------
# The ratios checked are the medians of each round's ratios, of runs seconds apart: this VM's
# speed drifts by a fifth over minutes, which a ratio of two runs in one round mostly cancels.
declare -a sold_ratio=() win_ratio=()
for ((i = 0; i < rounds; i++)); do
    sold_ratio+=("$(awk -v x="${sold_rps[i]}" -v h="${health_rps[i]}" 'BEGIN { printf "%.3f", (h > 0 ? x / h : 0) }')")
    win_ratio+=("$(awk -v x="${win_rps[i]}" -v h="${health_rps[i]}" 'BEGIN { printf "%.3f", (h > 0 ? x / h : 0) }')")
done
s_ratio=$(median "${sold_ratio[@]}") w_ratio=$(median "${win_ratio[@]}")
h_rps=$(median "${health_rps[@]}") h_p99=$(median "${health_p99[@]}")
s_rps=$(median "${sold_rps[@]}") s_p99=$(median "${sold_p99[@]}")
w_rps=$(median "${win_rps[@]}") w_p99=$(median "${win_p99[@]}")
rw_rps=$(median "${rbw_rps[@]}") rw_p99=$(median "${rbw_p99[@]}")
rs_rps=$(median "${rbs_rps[@]}") rs_p99=$(median "${rbs_p99[@]}")
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
nh_rps=$(median "${ngx_health_rps[@]}") nh_p99=$(median "${ngx_health_p99[@]}")
ns_rps=$(median "${ngx_sold_rps[@]}") ns_p99=$(median "${ngx_sold_p99[@]}")
nw_rps=$(median "${ngx_win_rps[@]}") nw_p99=$(median "${ngx_win_p99[@]}")
nginx_line=$(awk -v tag="$log_tag" -v hr="$nh_rps" -v hp="$nh_p99" -v sr="$ns_rps" -v sp="$ns_p99" -v wr="$nw_rps" -v wp="$nw_p99" \
    -v csr="$s_rps" -v csp="$s_p99" -v cwr="$w_rps" -v cwp="$w_p99" 'BEGIN {
    printf "%s: nginx + Lua: hello %.0f req/s (p99 %.2f ms) | sold-out %.0f req/s (p99 %.2f ms) | winning %.0f req/s (p99 %.2f ms) || CouponGate vs nginx + Lua: sold-out %.2fx the req/s, p99 %.2fx; winning %.2fx the req/s, p99 %.2fx",
        tag, hr, hp, sr, sp, wr, wp, (sr > 0 ? csr / sr : 0), (sp > 0 ? csp / sp : 0), (wr > 0 ? cwr / wr : 0), (wp > 0 ? cwp / wp : 0)
}')

summary=$(awk -v tag="$log_tag" -v hr="$h_rps" -v hp="$h_p99" -v sr="$s_rps" -v sp="$s_p99" -v wr="$w_rps" -v wp="$w_p99" \
    -v sratio="$s_ratio" -v wratio="$w_ratio" -v srounds="${sold_ratio[*]}" -v wrounds="${win_ratio[*]}" \
    -v smin="$min_ratio_soldout" -v wmin="$min_ratio_win" -v rwr="$rw_rps" -v rwp="$rw_p99" -v rsr="$rs_rps" -v rsp="$rs_p99" \
    -v ct="$wrk_cpu_server" -v rt="$wrk_cpu_redis" -v pt="$wrk_cpu_pg" -v hz="$clk_tck" -v wall="$wrk_wall" -v cores="$cores" -v relay="$relay_note" 'BEGIN {
    printf "%s: health/live median %.0f req/s (p99 %.2f ms) | sold-out apply median %.0f req/s (p99 %.2f ms), ratio %.2f (rounds %s; target >= %.2f) | winning apply median %.0f req/s (p99 %.2f ms), ratio %.2f (rounds %s; target >= %.2f) | redis-benchmark EVALSHA win %.0f req/s (p99 %.2f ms), sold-out %.0f req/s (p99 %.2f ms) | CPU in %d s of wrk: coupongate %.1f s, redis-server %.1f s, postgres %.1f s (%s cores) | relay: %s",
        tag, hr, hp, sr, sp, sratio, srounds, smin, wr, wp, wratio, wrounds, wmin, rwr, rwp, rsr, rsp,
        wall, ct / hz, rt / hz, pt / hz, cores, relay
}')
cpu_line=$(awk -v tag="$log_tag" -v hc="$(median "${health_us[@]}")" -v hr="$(median "${health_rus[@]}")" -v hp="$(median "${health_pus[@]}")" \
    -v sc="$(median "${sold_us[@]}")" -v sr="$(median "${sold_rus[@]}")" -v sp="$(median "${sold_pus[@]}")" \
    -v wc="$(median "${win_us[@]}")" -v wr="$(median "${win_rus[@]}")" -v wp="$(median "${win_pus[@]}")" \
    -v rc="$relay_cpu" -v hz="$clk_tck" -v n="$win_200" 'BEGIN {
    printf "%s: server CPU per request (medians; coupongate + redis + postgres): health %.1f + %.1f + %.1f us | sold-out %.1f + %.1f + %.1f us | winning %.1f + %.1f + %.1f us (coupongate includes the relay), relay catch-up after the runs %.1f us per coupon",
        tag, hc, hr, hp, sc, sr, sp, wc, wr, wp, (n > 0 ? rc / hz * 1e6 / n : 0)
}')
echo "$cpu_line"
echo "$summary"
echo "$nginx_line"
{
    echo "$cpu_line"
    echo "$summary"
    echo "$nginx_line"
    echo "binary: $bin; duration $duration, connections $connections, threads $threads, rounds $rounds, redis-benchmark calls $redis_requests"
    echo "redis: $(redis-server --version)"
} >"$results_dir/summary.txt"

failures=()
awk -v r="$s_ratio" -v min="$min_ratio_soldout" 'BEGIN { exit !(r >= min) }' \
    || failures+=("sold-out apply is below $min_ratio_soldout of health/live throughput")
awk -v r="$w_ratio" -v min="$min_ratio_win" 'BEGIN { exit !(r >= min) }' \
    || failures+=("winning apply is below $min_ratio_win of health/live throughput")
((relay_ok)) || failures+=("relay check failed: $relay_note")
awk -v a="$s_rps" -v ap="$s_p99" -v b="$ns_rps" -v bp="$ns_p99" 'BEGIN { exit !(a > b && ap < bp) }' \
    || failures+=("the sold-out path does not beat nginx + Lua on both req/s and p99")
awk -v a="$w_rps" -v ap="$w_p99" -v b="$nw_rps" -v bp="$nw_p99" 'BEGIN { exit !(a > b && ap < bp) }' \
    || failures+=("the winning path does not beat nginx + Lua on both req/s and p99")
if ((${#failures[@]} == 0)); then
    log "PASS (results in $results_dir/)"
else
    for f in "${failures[@]}"; do log "FAIL: $f"; done
    log "results in $results_dir/"
    exit 1
fi
