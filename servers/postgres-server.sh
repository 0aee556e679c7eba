#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: never the system's cluster or service.
#
#   servers/postgres-server.sh start  [STATE_DIR]  start (creating it if needed); prints the URL
#   servers/postgres-server.sh halt   [STATE_DIR]  stop the server but keep its data ('start' resumes it at the same URL)
#   servers/postgres-server.sh stop   [STATE_DIR]  stop the server and delete its data
#   servers/postgres-server.sh status [STATE_DIR]  exit 0 and print the URL if running, exit 3 if not
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

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
command=${1:-}
state_dir=${2:-$repo/.test-servers/postgres}
database=coupongate_test
superuser=coupongate

# For db-server-lib.sh.
script_name=postgres-server.sh
server_owner=postgres
server_dir_prefix=/tmp/coupongate-pg
# shellcheck source-path=SCRIPTDIR source=db-server-lib.sh
source "$script_dir/db-server-lib.sh"

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/<version>/bin), or PATH.
find_bindir() {
    local dir
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
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
    install_with_apt PostgreSQL postgresql postgresql
    # The package may create and start the system cluster; the tests never use it.
    if command -v pg_lsclusters >/dev/null; then
        local version name _port status _rest
        while read -r version name _port status _rest; do
            if [[ $status == online* ]]; then
                say "stopping the system cluster $version/$name that apt started"
                pg_ctlcluster "$version" "$name" stop || true
            fi
        done < <(pg_lsclusters --no-header 2>/dev/null || true)
    fi
    find_bindir || die "apt-get installed postgresql, but no initdb/pg_ctl was found under /usr/lib/postgresql/*/bin"
}

cluster_dir() {
    [[ -f $state_dir/cluster ]] && cat "$state_dir/cluster"
}

# Also finds the server's programs, which 'halt', 'stop' and 'status' have not looked for yet.
is_running() {
    local cluster
    find_bindir || return 1
    cluster=$(cluster_dir) || return 1
    [[ -f $cluster/data/PG_VERSION ]] || return 1
    as_owner "$bindir/pg_ctl" -D "$cluster/data" status >/dev/null 2>&1
}

create_cluster() {
    local cluster password
    cluster=$(make_server_dir)
    password=$(random_hex)
    printf '%s\n' "$password" >"$cluster/pwfile"
    as_root && chown "$server_owner": "$cluster/pwfile"
    as_owner "$bindir/initdb" -D "$cluster/data" -U "$superuser" --pwfile="$cluster/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$cluster/initdb.log" 2>&1 \
        || die "initdb failed; see $cluster/initdb.log"
    rm -f "$cluster/pwfile"
    cat >>"$cluster/data/postgresql.conf" <<EOF

# coupongate test server (servers/postgres-server.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$cluster'
fsync = on
synchronous_commit = on
max_connections = 300
EOF
    mkdir -p "$state_dir"
    printf '%s\n' "$cluster" >"$state_dir/cluster"
    write_private "$state_dir/password" "$password"
}

# The start_on_a_port functions, for the cluster in $cluster.
launch_cluster() {
    without_inherited_fds as_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 -o "-p $1" start >/dev/null
}
port_was_taken() {
    grep -q "could not bind\|could not create any TCP/IP sockets" "$cluster/server.log"
}
show_server_log() {
    tail -n 20 "$cluster/server.log" >&2 || true
}

write_urls() {
    local cluster=$1 port password
    port=$(cat "$state_dir/port")
    password=$(cat "$state_dir/password")
    write_private "$state_dir/postgres.url" "postgres://$superuser:$password@127.0.0.1:$port/$database"
    write_private "$state_dir/postgres-socket.url" "postgres://$superuser@:$port/$database?host=$cluster"
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
    start_on_a_port PostgreSQL "$cluster/server.log" launch_cluster port_was_taken show_server_log
    ensure_database "$cluster"
    write_urls "$cluster"
    cat "$state_dir/postgres.url"
    ;;
halt)
    if is_running; then
        as_owner "$bindir/pg_ctl" -D "$(cluster_dir)/data" -m fast -w stop >/dev/null
    fi
    ;;
stop)
    [[ -d $state_dir ]] || exit 0
    if is_running; then
        as_owner "$bindir/pg_ctl" -D "$(cluster_dir)/data" -m fast -w stop >/dev/null
    fi
    remove_server_dir "$(cluster_dir || true)"
    rm -f "$state_dir/cluster" "$state_dir/port" "$state_dir/password" "$state_dir/postgres.url" "$state_dir/postgres-socket.url"
    ;;
status)
    report_status postgres.url is_running
    ;;
*)
    usage
    ;;
esac
