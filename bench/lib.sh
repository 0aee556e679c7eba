# Shared helpers of bench/bench.sh and bench/bench-distributed.sh; source it, do not run it.
#
# Expects the caller to run under `set -euo pipefail` from the repository root
# and to set, before using the helpers that need them:
#   log_tag       prefix of every message (default: bench)
#   work_dir      a private temporary directory (expect_status keeps a body there)
#   base_url      http://127.0.0.1:PORT of the server under test
#   bin, skip_build, start_timeout   for build_release_bin and wait_http_200
# shellcheck shell=bash

log() { printf '%s: %s\n' "${log_tag:-bench}" "$*"; }
die() { printf '%s: error: %s\n' "${log_tag:-bench}" "$*" >&2; exit 1; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# require_tools TOOL...: dies naming the first tool that is not on PATH.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is required"
    done
}

# ensure_apt_tool TOOL PACKAGE: installs PACKAGE with apt-get when TOOL is not on PATH.
ensure_apt_tool() {
    local tool=$1 package=$2 sudo=()
    command -v "$tool" >/dev/null && return 0
    log "$tool is missing; installing it with apt-get"
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "$tool is missing and installing it needs root (or sudo)"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y "$package"
    command -v "$tool" >/dev/null || die "$tool is still missing after apt-get install"
}

# build_release_bin: sets bin to BENCH_BIN, or to the release binary, building it
# (own scratch path .build-release) unless BENCH_SKIP_BUILD=1 and it exists.
build_release_bin() {
    local release_bin=.build-release/release/coupongate
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
}

# free_port: a port nothing listens on at 127.0.0.1 right now.
free_port() {
    command -v python3 >/dev/null || die "python3 is required to pick a free port (or set BENCH_PORT)"
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

new_admin_token() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; } # 32 hex characters

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL; reaps it (a child of this shell).
stop_pid() {
    local pid=$1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in {1..50}; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# show_log FILE [WHAT]: the last 40 lines of FILE on stderr.
show_log() {
    printf -- '--- %s log (last 40 lines) ---\n' "${2:-server}" >&2
    tail -n 40 "$1" >&2 || true
}

# wait_http_200 URL PATH PID LOG TIMEOUT: polls GET URL until it answers 200; dies
# (showing LOG) when process PID exits first or TIMEOUT seconds pass.
wait_http_200() {
    local url=$1 path=$2 pid=$3 logfile=$4 timeout=$5 deadline
    deadline=$((SECONDS + timeout))
    until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log "$logfile"
            die "the server exited before $path answered 200"
        fi
        if ((SECONDS >= deadline)); then
            show_log "$logfile"
            die "$path did not answer 200 within ${timeout}s"
        fi
        sleep 0.2
    done
}

# proc_cpu_ticks PID [NAME]: utime + stime of process PID, in clock ticks.
proc_cpu_ticks() {
    local stat rest fields
    stat=$(<"/proc/$1/stat") || die "cannot read /proc/$1/stat (did the ${2:-server} exit?)"
    rest=${stat##*) } # the command name may hold spaces; fields after it start at 3 (state)
    read -r -a fields <<<"$rest"
    echo $((fields[11] + fields[12]))
}

# proc_tree_cpu_ticks PID [NAME]: clock ticks used by process PID, by its children
# it has reaped (cutime + cstime) and by its live children: a PostgreSQL
# postmaster with its backends and background processes.
proc_tree_cpu_ticks() {
    local stat rest fields total f
    stat=$(<"/proc/$1/stat") || die "cannot read /proc/$1/stat (did the ${2:-server} exit?)"
    rest=${stat##*) }
    read -r -a fields <<<"$rest"
    total=$((fields[11] + fields[12] + fields[13] + fields[14]))
    for f in /proc/[0-9]*/stat; do
        { stat=$(<"$f"); } 2>/dev/null || continue # gone meanwhile (the braces silence bash's own message)
        rest=${stat##*) }
        read -r -a fields <<<"$rest"
        ((fields[1] == $1)) && total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# cpu_ticks WHAT [NAME]: proc_cpu_ticks PID for WHAT = PID, proc_tree_cpu_ticks PID for WHAT = tree:PID.
cpu_ticks() {
    if [[ $1 == tree:* ]]; then proc_tree_cpu_ticks "${1#tree:}" "${2:-server}"; else proc_cpu_ticks "$1" "${2:-server}"; fi
}

# expect_status METHOD PATH STATUS LABEL [CURL ARGS...]: one request to base_url, which must answer STATUS.
expect_status() {
    local method=$1 path=$2 expected=$3 label=$4 body=$work_dir/body status
    shift 4
    status=$(curl -s -o "$body" -w '%{http_code}' --max-time 5 -X "$method" "$@" "$base_url$path" || true)
    if [[ $status != "$expected" ]]; then
        printf '%s: %s: HTTP %s, body:\n%s\n' "${log_tag:-bench}" "$label" "$status" "$(cat "$body" 2>/dev/null)" >&2
        die "$label: expected HTTP $expected from $method $path"
    fi
    log "$label: $method $path -> $status"
}

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

# wrk_run LABEL ROUND OUT URL MODE [SCRIPT ARGS...]
#
# Runs wrk (threads, connections, duration, lua_script from the caller) with
# bench/coupongate.lua in MODE, raw output to OUT, and checks it: no socket
# errors, at least one request, the script ran in MODE and every response had
# the status MODE expects. Sets:
#   wrk_rps wrk_p99 (ms) wrk_requests wrk_responses wrk_non2xx (empty when none)
#   wrk_cpu[i]  clock ticks cpu_pids[i] (a PID, or tree:PID, see cpu_ticks; named
#               cpu_names[i] in errors) used during the run; both set by the caller
wrk_run() {
    local label=$1 round=$2 out=$3 url=$4 kind=$5
    shift 5
    local i ticks
    local -a before=()
    wrk_cpu=()
    for ((i = 0; i < ${#cpu_pids[@]}; i++)); do
        ticks=$(cpu_ticks "${cpu_pids[i]}" "${cpu_names[i]:-server}")
        before+=("$ticks")
    done
    if ! wrk -t "$threads" -c "$connections" -d "$duration" --latency -s "$lua_script" "$url" -- "$kind" "$@" >"$out" 2>&1; then
        cat "$out" >&2
        die "wrk failed for $label (round $round); output in $out"
    fi
    for ((i = 0; i < ${#cpu_pids[@]}; i++)); do
        ticks=$(cpu_ticks "${cpu_pids[i]}" "${cpu_names[i]:-server}")
        wrk_cpu+=("$((ticks - before[i]))")
    done

    local p99_raw check socket_errors
    wrk_rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$out")
    p99_raw=$(awk '/Latency Distribution/ { d = 1; next } d && $1 == "99%" { print $2; exit }' "$out")
    wrk_requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
    check=$(grep '^coupongate-check:' "$out" || true)
    socket_errors=$(grep 'Socket errors:' "$out" || true)
    wrk_non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2 }' "$out")

    [[ -n $wrk_rps && -n $p99_raw && -n $wrk_requests && -n $check ]] || { cat "$out" >&2; die "cannot parse the wrk output of $label (round $round): $out"; }
    wrk_p99=$(to_ms "$p99_raw") || die "unknown latency unit in '$p99_raw' ($out)"
    [[ -z $socket_errors ]] || die "$label (round $round): wrk reported${socket_errors#*Socket errors:} ($out)"
    ((wrk_requests > 0)) || die "$label (round $round): no requests completed ($out)"
    local unexpected
    unexpected=$(sed -n 's/.* unexpected=\([0-9]*\).*/\1/p' <<<"$check")
    wrk_responses=$(sed -n 's/.* responses=\([0-9]*\).*/\1/p' <<<"$check")
    [[ $check == *" mode=$kind "* ]] || die "$label (round $round): wrk ran the Lua script in another mode: $check ($out)"
    [[ $unexpected == 0 && $wrk_responses -gt 0 ]] || die "$label (round $round): unexpected statuses: ${check#coupongate-check: } ($out)"
}
