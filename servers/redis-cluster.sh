#!/usr/bin/env bash
# A throwaway Redis Cluster for the tests and the scale-out stack: never the system's Redis.
#
#   servers/redis-cluster.sh start   [STATE_DIR] [--masters N] [--replicas R] [--timeout S]
#       start the nodes (N masters, R replicas each; default 3 and 1), create the cluster, wait
#       until it is ready; prints the seed URLs. Idempotent: a running cluster is left as it is
#   servers/redis-cluster.sh stop    [STATE_DIR]   stop every node and delete their data
#   servers/redis-cluster.sh status  [STATE_DIR]   exit 0 and print the seeds if the cluster is up
#       (a node answers, and every node that answers reports cluster_state:ok), else exit 3
#   servers/redis-cluster.sh wait-ok [STATE_DIR] [--timeout S]
#       wait (at most S s, default 30) until every node that answers reports cluster_state:ok and
#       every replica is in sync with its master: e.g. after kill-master, for the promotion
#   servers/redis-cluster.sh kill-master N [STATE_DIR]
#       SIGKILL the Nth live master (1-based, in the order the nodes were started); prints its port
#   servers/redis-cluster.sh revive PORT [STATE_DIR]
#       start a stopped node again from its configuration (a killed master rejoins as a replica)
#   servers/redis-cluster.sh reshard FROM_PORT TO_PORT SLOTS [STATE_DIR]
#       move SLOTS hash slots (with their keys) from the master on FROM_PORT to the one on TO_PORT,
#       with redis-cli --cluster reshard (it takes FROM's lowest slots); prints the slots moved
#
# STATE_DIR defaults to .test-servers/redis-cluster in the repository (gitignored). 'start'
# writes there:
#   nodes   one 'host:port role' line per node, role master, replica or down (rewritten by
#           status, wait-ok, kill-master, revive and reshard, as the roles change)
#   seeds   the masters at creation, as comma-separated redis://127.0.0.1:PORT URLs: what
#           `coupongate serve --redis-cluster` takes
#   ports   every node's port, in start order; dir: the nodes' parent directory
#
# Each node is a redis-server in a directory of its own under /tmp/coupongate-redis-cluster.*,
# daemonized (with no descriptor of ours open), on 127.0.0.1 at a free port below the kernel's
# ephemeral range (its cluster bus on port + 10000), with the durability of deploy/redis.conf
# (AOF, appendfsync always, no RDB) and cluster-node-timeout 2000 ms, so that a killed master's
# replica is promoted within a few seconds. If redis-server or redis-cli is missing it is
# installed with apt-get (as root); if apt started the system Redis, it is stopped again.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
command=${1:-}
[[ $# -gt 0 ]] && shift

# Operands first (by command), then STATE_DIR, with the options anywhere.
masters=3
replicas=1
timeout=30
operands=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --masters | --replicas | --timeout)
        [[ $# -ge 2 ]] || { echo "redis-cluster.sh: $1 needs a value" >&2; exit 2; }
        case $1 in
        --masters) masters=$2 ;;
        --replicas) replicas=$2 ;;
        --timeout) timeout=$2 ;;
        esac
        shift 2
        ;;
    --*)
        echo "redis-cluster.sh: unknown option $1" >&2
        exit 2
        ;;
    *)
        operands+=("$1")
        shift
        ;;
    esac
done
case $command in
kill-master | revive) wanted=1 ;;
reshard) wanted=3 ;;
*) wanted=0 ;;
esac
((${#operands[@]} >= wanted && ${#operands[@]} <= wanted + 1)) || command=usage
state_dir=${operands[wanted]:-$repo/.test-servers/redis-cluster}

# For db-server-lib.sh. Redis does not refuse root: the nodes run as whoever runs this script.
script_name=redis-cluster.sh
server_owner=$(id -un)
server_dir_prefix=/tmp/coupongate-redis-cluster
# shellcheck source-path=SCRIPTDIR source=db-server-lib.sh
source "$script_dir/db-server-lib.sh"

usage() {
    cat >&2 <<EOF
usage: $0 start|stop|status|wait-ok [STATE_DIR] [--masters N] [--replicas R] [--timeout S]
       $0 kill-master N [STATE_DIR]
       $0 revive PORT [STATE_DIR]
       $0 reshard FROM_PORT TO_PORT SLOTS [STATE_DIR]
EOF
    exit 2
}

# 0 if $1 is an integer from $2 to $3.
in_range() {
    [[ $1 =~ ^[0-9]{1,9}$ ]] && (($1 >= $2 && $1 <= $3))
}

install_redis() {
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
    install_with_apt redis-server redis-server redis-server
    # The package may start the system Redis on 6379; the cluster never uses it.
    (service redis-server stop || true) >/dev/null 2>&1
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        die "apt-get installed redis-server, but redis-server or redis-cli is still missing"
    fi
}

# redis-cli against one node, bounded (a hung node must not hang the script).
cli() {
    local port=$1
    shift
    timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

node_up() {
    [[ $(cli "$1" ping) == PONG ]]
}

# The value of FIELD in the output of 'INFO section' or 'CLUSTER INFO' (lines field:value).
info_field() {
    local field=$1
    tr -d '\r' | sed -n "s/^$field://p"
}

cluster_dir() {
    [[ -f $state_dir/dir ]] && cat "$state_dir/dir"
}

ports() {
    [[ -f $state_dir/ports ]] && cat "$state_dir/ports"
}

node_pid() {
    local pidfile
    pidfile=$(cluster_dir)/$1/redis.pid
    [[ -f $pidfile ]] && cat "$pidfile"
}

# 'master', 'replica' or 'down', as the node itself says (ROLE).
node_role() {
    local role
    role=$(cli "$1" role | head -n 1) || true
    case $role in
    master) echo master ;;
    slave) echo replica ;;
    *) echo down ;;
    esac
}

write_nodes_file() {
    local port lines=()
    for port in $(ports); do
        lines+=("127.0.0.1:$port $(node_role "$port")")
    done
    printf '%s\n' "${lines[@]}" >"$state_dir/nodes"
}

# A port free on 127.0.0.1 whose cluster bus port (port + 10000) is free too, both below the
# ephemeral range when there is room (a revived node needs both back; outgoing connections take
# ports from that range).
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
pick_node_port() {
    local port low=20000 high=55535 ephemeral
    ephemeral=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true)
    if [[ $ephemeral =~ ^[0-9]+$ ]] && ((ephemeral - 10000 - low >= 1000)); then
        high=$((ephemeral - 10000))
    fi
    for _ in $(seq 1 100); do
        port=$((low + RANDOM % (high - low)))
        if port_free "$port" && port_free $((port + 10000)); then
            echo "$port"
            return 0
        fi
    done
    die "no free port pair (port, port + 10000) found on 127.0.0.1"
}

write_node_conf() {
    local dir=$1 port=$2
    cat >"$dir/redis.conf" <<EOF
# A node of a test Redis Cluster (servers/redis-cluster.sh); durability as in deploy/redis.conf.
bind 127.0.0.1
protected-mode yes
port $port
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 2000
appendonly yes
appendfsync always
no-appendfsync-on-rewrite no
save ""
maxmemory-policy noeviction
EOF
}

# Starts the node in $1 (its redis.conf names its port $2); 0 once it answers, 1 if it did not
# start within 10 s.
launch_node() {
    local dir=$1 port=$2
    without_inherited_fds redis-server "$dir/redis.conf" >/dev/null 2>&1 || return 1
    for _ in $(seq 1 200); do
        node_up "$port" && return 0
        sleep 0.05
    done
    return 1
}

# Starts one new node in the cluster directory $1 and prints its port; retries on another port
# if someone took the picked one meanwhile.
start_node() {
    local base=$1 port dir
    for _ in 1 2 3 4 5; do
        port=$(pick_node_port) || return 1
        dir=$base/$port
        mkdir -p "$dir"
        write_node_conf "$dir" "$port"
        if launch_node "$dir" "$port"; then
            echo "$port"
            return 0
        fi
        if ! grep -q "Address already in use" "$dir/redis.log" 2>/dev/null; then
            tail -n 20 "$dir/redis.log" >&2 || true
            say "redis-server on port $port did not start; log: $dir/redis.log"
            return 1
        fi
        stop_pidfile "$dir/redis.pid"
        rm -rf "$dir"
    done
    say "redis-server could not bind a free port"
    return 1
}

# SIGTERM, then after 5 s SIGKILL, the process named in a pid file.
stop_pidfile() {
    local pid
    [[ -f $1 ]] || return 0
    pid=$(cat "$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# 0 if the cluster is ready now: a node answers, every node that answers reports
# cluster_state:ok and knows all the nodes, and every replica's link to its master is up and
# not syncing. Prints what is not ready otherwise.
cluster_ready() {
    local port total up=0 state known link syncing
    total=$(ports | wc -l)
    for port in $(ports); do
        node_up "$port" || continue
        up=$((up + 1))
        state=$(cli "$port" cluster info | info_field cluster_state)
        [[ $state == ok ]] || { echo "node $port: cluster_state:${state:-?}"; return 1; }
        known=$(cli "$port" cluster info | info_field cluster_known_nodes)
        ((${known:-0} >= total)) || { echo "node $port knows ${known:-0} of $total nodes"; return 1; }
        if [[ $(node_role "$port") == replica ]]; then
            link=$(cli "$port" info replication | info_field master_link_status)
            syncing=$(cli "$port" info replication | info_field master_sync_in_progress)
            [[ $link == up && $syncing == 0 ]] || { echo "replica $port: link ${link:-?}, sync in progress ${syncing:-?}"; return 1; }
        fi
    done
    ((up > 0)) || { echo "no node answers"; return 1; }
}

wait_ready() {
    local deadline=$((SECONDS + timeout)) why
    while ! why=$(cluster_ready); do
        if ((SECONDS >= deadline)); then
            write_nodes_file
            die "the cluster is not ready after $timeout s: $why"
        fi
        sleep 0.1
    done
    write_nodes_file
}

is_running() {
    local port
    [[ -f $state_dir/ports ]] || return 1
    for port in $(ports); do
        node_up "$port" && return 0
    done
    return 1
}

stop_cluster() {
    local base port
    base=$(cluster_dir || true)
    if [[ -n $base ]]; then
        for port in $(ports); do
            stop_pidfile "$base/$port/redis.pid"
        done
        remove_server_dir "$base"
    fi
    rm -f "$state_dir/dir" "$state_dir/ports" "$state_dir/nodes" "$state_dir/seeds" "$state_dir/create.log" "$state_dir/reshard.log"
}

node_id() {
    local id
    id=$(cli "$1" cluster myid | tr -d '\r')
    [[ $id =~ ^[0-9a-f]{40}$ ]] || die "no node answers on port $1"
    echo "$id"
}

# 'a b c…' slot numbers as ranges: '0-99 200'.
ranges() {
    sort -n | awk 'NR == 1 { first = last = $1; next }
        $1 == last + 1 { last = $1; next }
        { printf "%s ", (first == last ? first : first "-" last); first = last = $1 }
        END { if (NR) print (first == last ? first : first "-" last) }'
}

case $command in
start)
    in_range "$masters" 3 100 || die "--masters must be at least 3 (redis-cli --cluster create needs 3), got '$masters'"
    in_range "$replicas" 0 5 || die "--replicas must be 0 to 5, got '$replicas'"
    in_range "$timeout" 1 3600 || die "--timeout must be a positive number of seconds, got '$timeout'"
    install_redis
    mkdir -p "$state_dir"
    state_dir=$(cd "$state_dir" && pwd)
    if is_running; then
        wait_ready
        cat "$state_dir/seeds"
        exit 0
    fi
    stop_cluster # what a crashed run left behind
    base=$(make_server_dir)
    printf '%s\n' "$base" >"$state_dir/dir"
    : >"$state_dir/ports"
    trap 'status=$?; if ((status != 0)); then say "start failed: stopping the nodes"; stop_cluster; fi' EXIT
    for _ in $(seq 1 $((masters * (1 + replicas)))); do
        port=$(start_node "$base") || die "a node did not start"
        printf '%s\n' "$port" >>"$state_dir/ports"
    done
    mapfile -t all < <(ports)
    addresses=()
    for port in "${all[@]}"; do addresses+=("127.0.0.1:$port"); done
    if ! timeout 60 redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$replicas" --cluster-yes \
        </dev/null >"$state_dir/create.log" 2>&1; then
        tail -n 20 "$state_dir/create.log" >&2 || true
        die "redis-cli --cluster create failed; log: $state_dir/create.log"
    fi
    wait_ready
    seeds=()
    while read -r address role; do
        [[ $role == master ]] && seeds+=("redis://$address")
    done <"$state_dir/nodes"
    ((${#seeds[@]} == masters)) || die "expected $masters masters, the nodes report ${#seeds[@]}"
    (IFS=,; printf '%s\n' "${seeds[*]}") >"$state_dir/seeds"
    trap - EXIT
    cat "$state_dir/seeds"
    ;;
stop)
    [[ -d $state_dir ]] || exit 0
    stop_cluster
    rmdir "$state_dir" 2>/dev/null || true
    ;;
status)
    if is_running && cluster_ready >/dev/null; then
        write_nodes_file
        echo "running: $(cat "$state_dir/seeds")"
        cat "$state_dir/nodes"
        exit 0
    fi
    [[ -f $state_dir/ports ]] && write_nodes_file && cat "$state_dir/nodes"
    echo "not running"
    exit 3
    ;;
wait-ok)
    in_range "$timeout" 1 3600 || die "--timeout must be a positive number of seconds, got '$timeout'"
    is_running || die "no node of the cluster in $state_dir answers"
    wait_ready
    cat "$state_dir/nodes"
    ;;
kill-master)
    n=${operands[0]}
    in_range "$n" 1 100 || die "kill-master needs a master number from 1, got '$n'"
    is_running || die "no node of the cluster in $state_dir answers"
    live_masters=()
    for port in $(ports); do
        [[ $(node_role "$port") == master ]] && live_masters+=("$port")
    done
    ((n <= ${#live_masters[@]})) || die "there are ${#live_masters[@]} live masters, not $n"
    port=${live_masters[n - 1]}
    pid=$(node_pid "$port") || die "no pid file for the node on port $port"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    write_nodes_file
    echo "$port"
    ;;
revive)
    port=${operands[0]}
    base=$(cluster_dir) || die "no cluster in $state_dir"
    [[ -f $base/$port/redis.conf ]] || die "no node with port '$port' in $state_dir"
    node_up "$port" && die "the node on port $port is running"
    launch_node "$base/$port" "$port" || { tail -n 20 "$base/$port/redis.log" >&2; die "the node on port $port did not start"; }
    write_nodes_file
    echo "$port"
    ;;
reshard)
    from=${operands[0]} to=${operands[1]} slots=${operands[2]}
    in_range "$slots" 1 16384 || die "SLOTS must be 1 to 16384, got '$slots'"
    from_id=$(node_id "$from")
    to_id=$(node_id "$to")
    if ! timeout 600 redis-cli --cluster reshard "127.0.0.1:$from" --cluster-from "$from_id" --cluster-to "$to_id" \
        --cluster-slots "$slots" --cluster-yes </dev/null >"$state_dir/reshard.log" 2>&1; then
        tail -n 20 "$state_dir/reshard.log" >&2 || true
        die "redis-cli --cluster reshard failed; log: $state_dir/reshard.log"
    fi
    moved=$(sed -n 's/^Moving slot \([0-9]*\) from .*/\1/p' "$state_dir/reshard.log" | ranges)
    write_nodes_file
    echo "moved slots ${moved:-none} from $from to $to"
    ;;
*)
    usage
    ;;
esac
