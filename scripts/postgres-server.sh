#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: never the system's cluster or service.
#
#   scripts/postgres-server.sh start  [STATE_DIR]  start (creating it if needed); prints the URL
#   scripts/postgres-server.sh halt   [STATE_DIR]  stop the server but keep its data ('start' resumes it at the same URL)
#   scripts/postgres-server.sh stop   [STATE_DIR]  stop the server and delete its data
#   scripts/postgres-server.sh status [STATE_DIR]  exit 0 and print the URL if running, exit 3 if not
#
# STATE_DIR defaults to .test-servers/postgres in the repository (gitignored).
# 'start' writes there:
#   postgres.url         postgres://coupongate:<password>@127.0.0.1:<port>/coupongate_test (TCP, SCRAM password)
#   postgres-socket.url  postgres://coupongate@/coupongate_test?host=<socket dir> (unix socket, trust)
#
# The cluster lives in a short directory under /tmp, owned by the user the
# server runs as: PostgreSQL refuses to run as root, so as root the server runs
# as 'postgres' (created by Debian's package), and the unix socket path must
# stay under ~100 bytes, which a deep checkout could exceed. It listens on
# 127.0.0.1 at a free port picked here and on a socket in that directory, with
# fsync on, like a real server. If PostgreSQL is missing it is installed with
# apt-get (as root); if apt started the system cluster, it is stopped again.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
command=${1:-}
state_dir=${2:-$repo/.test-servers/postgres}
database=coupongate_test
superuser=coupongate

die() {
    echo "postgres-server.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start|halt|stop|status [STATE_DIR]" >&2
    exit 2
}

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/<version>/bin), or PATH.
find_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then
        bindir=$dir
        return 0
    fi
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        bindir=$(dirname "$(command -v initdb)")
        return 0
    fi
    return 1
}

install_postgres() {
    find_bindir && return 0
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed; as root run: apt-get update && apt-get install -y postgresql"
    echo "postgres-server.sh: installing PostgreSQL with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    # The package may create and start the system cluster; the tests never use it.
    if command -v pg_lsclusters >/dev/null; then
        local version name _port status _rest
        while read -r version name _port status _rest; do
            if [[ $status == online* ]]; then
                echo "postgres-server.sh: stopping the system cluster $version/$name that apt started" >&2
                pg_ctlcluster "$version" "$name" stop || true
            fi
        done < <(pg_lsclusters --no-header 2>/dev/null || true)
    fi
    find_bindir || die "apt-get installed postgresql, but no initdb/pg_ctl was found under /usr/lib/postgresql/*/bin"
}

# Runs a server program as the cluster's owner: 'postgres' when we are root (PostgreSQL refuses root).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Runs a command with only descriptors 0-2 open. The server daemon outlives this script, and a
# descriptor it inherited would keep the caller's pipe or socket open: Foundation's Process, for
# one, reports the script's exit only when such a socket closes, so a test would wait forever.
without_inherited_fds() {
    (
        local fd fds=()
        if [[ -d /proc/$BASHPID/fd ]]; then
            for fd in "/proc/$BASHPID/fd"/*; do fds+=("${fd##*/}"); done
        else
            fds=($(seq 3 254))
        fi
        # 255 is where bash reads this script from.
        for fd in "${fds[@]}"; do
            if ((fd > 2 && fd != 255)); then
                eval "exec $fd>&-" 2>/dev/null || true
            fi
        done
        "$@"
    )
}

cluster_dir() {
    [[ -f $state_dir/cluster ]] && cat "$state_dir/cluster"
}

is_running() {
    local cluster
    cluster=$(cluster_dir) || return 1
    [[ -f $cluster/data/PG_VERSION ]] || return 1
    as_owner "$bindir/pg_ctl" -D "$cluster/data" status >/dev/null 2>&1
}

# A port nothing on 127.0.0.1 answers on now (start retries if the server still cannot bind it).
pick_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found on 127.0.0.1"
}

create_cluster() {
    local cluster password
    cluster=$(mktemp -d /tmp/coupongate-pg.XXXXXX)
    [[ $(id -u) -eq 0 ]] && chown postgres: "$cluster"
    chmod 700 "$cluster"
    password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$password" >"$cluster/pwfile"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$cluster/pwfile"
    as_owner "$bindir/initdb" -D "$cluster/data" -U "$superuser" --pwfile="$cluster/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$cluster/initdb.log" 2>&1 \
        || die "initdb failed; see $cluster/initdb.log"
    rm -f "$cluster/pwfile"
    cat >>"$cluster/data/postgresql.conf" <<EOF

# coupongate test server (scripts/postgres-server.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$cluster'
fsync = on
synchronous_commit = on
max_connections = 300
EOF
    mkdir -p "$state_dir"
    printf '%s\n' "$cluster" >"$state_dir/cluster"
    (umask 077 && printf '%s\n' "$password" >"$state_dir/password")
}

start_server() {
    local cluster=$1 port attempt
    for attempt in 1 2 3 4 5; do
        if [[ -f $state_dir/port ]]; then
            port=$(cat "$state_dir/port")
        else
            port=$(pick_port)
        fi
        if without_inherited_fds as_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 -o "-p $port" start >/dev/null; then
            printf '%s\n' "$port" >"$state_dir/port"
            return 0
        fi
        # Someone took the port between picking and binding: pick another, unless it was
        # the port of a resumed server (its URL is already handed out).
        if [[ -f $state_dir/port ]] || ! grep -q "could not bind\|could not create any TCP/IP sockets" "$cluster/server.log"; then
            tail -n 20 "$cluster/server.log" >&2 || true
            die "PostgreSQL did not start (attempt $attempt); log: $cluster/server.log"
        fi
    done
    die "PostgreSQL could not bind a free port"
}

write_urls() {
    local cluster=$1 port password
    port=$(cat "$state_dir/port")
    password=$(cat "$state_dir/password")
    (umask 077 && printf '%s\n' "postgres://$superuser:$password@127.0.0.1:$port/$database" >"$state_dir/postgres.url")
    (umask 077 && printf '%s\n' "postgres://$superuser@:$port/$database?host=$cluster" >"$state_dir/postgres-socket.url")
}

ensure_database() {
    local cluster=$1 port exists
    port=$(cat "$state_dir/port")
    exists=$(as_owner "$bindir/psql" -h "$cluster" -p "$port" -U "$superuser" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$database'")
    if [[ $exists != 1 ]]; then
        as_owner "$bindir/createdb" -h "$cluster" -p "$port" -U "$superuser" "$database"
    fi
}

case $command in
start)
    install_postgres
    mkdir -p "$state_dir"
    state_dir=$(cd "$state_dir" && pwd)
    if is_running; then
        cat "$state_dir/postgres.url"
        exit 0
    fi
    cluster=$(cluster_dir || true)
    if [[ -z $cluster || ! -f $cluster/data/PG_VERSION ]]; then
        rm -f "$state_dir/port" "$state_dir/postgres.url" "$state_dir/postgres-socket.url"
        create_cluster
        cluster=$(cluster_dir)
    fi
    start_server "$cluster"
    ensure_database "$cluster"
    write_urls "$cluster"
    cat "$state_dir/postgres.url"
    ;;
halt)
    find_bindir || exit 0
    if is_running; then
        as_owner "$bindir/pg_ctl" -D "$(cluster_dir)/data" -m fast -w stop >/dev/null
    fi
    ;;
stop)
    [[ -d $state_dir ]] || exit 0
    if find_bindir && is_running; then
        as_owner "$bindir/pg_ctl" -D "$(cluster_dir)/data" -m fast -w stop >/dev/null
    fi
    cluster=$(cluster_dir || true)
    # Only ever delete a directory this script made.
    if [[ $cluster == /tmp/coupongate-pg.* ]]; then
        rm -rf "$cluster"
    fi
    rm -f "$state_dir/cluster" "$state_dir/port" "$state_dir/password" "$state_dir/postgres.url" "$state_dir/postgres-socket.url"
    ;;
status)
    if find_bindir && is_running; then
        echo "running: $(cat "$state_dir/postgres.url")"
        exit 0
    fi
    echo "not running"
    exit 3
    ;;
*)
    usage
    ;;
esac
