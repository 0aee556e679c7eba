# shellcheck shell=bash
# What servers/postgres-server.sh and servers/mariadb-server.sh have in common: messages, running
# as the server's owner, the server's directory under /tmp, apt-get, picking a port and starting on
# it, and 'status'. Sourced by them (after 'set -euo pipefail'), not run.
#
# The sourcing script sets first:
#   script_name        its name, for messages (e.g. postgres-server.sh)
#   server_owner       the user the server runs as when we are root (PostgreSQL and mariadbd refuse root)
#   server_dir_prefix  the server's directory is <prefix>.XXXXXX (see make_server_dir)
#   state_dir          its STATE_DIR, read when a function is called (so it may still change)
: "${script_name:?}" "${server_owner:?}" "${server_dir_prefix:?}" "${state_dir:?}"

say() {
    echo "$script_name: $*" >&2
}

die() {
    say "$@"
    exit 1
}

usage() {
    echo "usage: $0 start|halt|stop|status [STATE_DIR]" >&2
    exit 2
}

# Whether we are root, in which case the server runs as $server_owner.
as_root() {
    [[ $(id -u) -eq 0 ]]
}

# Runs a program as the server's owner: $server_owner when we are root. From '/', which the owner
# can always enter (the caller's directory may be private, e.g. /root).
as_owner() {
    if as_root; then
        (cd / && runuser -u "$server_owner" -- "$@")
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
            mapfile -t fds < <(seq 3 254)
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

# 128 random bits as 32 hex digits: nothing to escape in SQL or in a URL.
random_hex() {
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# Writes a line to a file only its owner can read: passwords, and URLs that contain them.
write_private() {
    (umask 077 && printf '%s\n' "$2" >"$1")
}

# apt-get install, after one 'apt-get update' per run of the script.
apt_updated=
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z $apt_updated ]]; then
        apt-get update -qq >&2
        apt_updated=1
    fi
    apt-get install -y -qq "$@" >&2
}

# Installs a missing package with apt-get, or says how to: $1 what is missing, $2 the package,
# $3 what to install without apt-get, $4 advice appended to those messages (optional).
install_with_apt() {
    local what=$1 package=$2 manual=$3 advice=${4:-}
    as_root || die "$what is not installed; as root run: apt-get update && apt-get install -y $package$advice"
    command -v apt-get >/dev/null || die "$what is not installed and there is no apt-get; install $manual$advice"
    say "installing $what with apt-get"
    apt_install "$package"
}

# Makes the server's directory and prints its path: under /tmp, since the unix socket in it must
# have a path under ~100 bytes, which a deep checkout could exceed; mode 700, owned by the server's
# owner. Each step returns on failure: 'set -e' does not reach into the caller's $(...).
make_server_dir() {
    local dir
    dir=$(mktemp -d "$server_dir_prefix.XXXXXX") || return 1
    chmod 700 "$dir" || return 1
    if as_root; then
        chown "$server_owner": "$dir" || return 1
    fi
    echo "$dir"
}

# Deletes a server directory, but only one make_server_dir could have made: the path comes from a
# file in STATE_DIR.
remove_server_dir() {
    local dir=$1
    if [[ $dir =~ ^"$server_dir_prefix"\.[A-Za-z0-9]+$ ]]; then
        rm -rf "$dir"
    fi
}

# A port nothing on 127.0.0.1 answers on now (start retries if the server still cannot bind it),
# below the kernel's ephemeral range when there is room: 'halt' keeps the port for 'start' (the URL
# is handed out), and meanwhile any outgoing connection (the tests make thousands) could be given a
# port in that range, and the halted server could not resume on it.
pick_port() {
    local port low=20000 high=60000 ephemeral
    ephemeral=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true)
    if [[ $ephemeral =~ ^[0-9]+$ ]] && ((ephemeral - low >= 5000)); then
        high=$ephemeral
    fi
    for _ in $(seq 1 50); do
        port=$((low + RANDOM % (high - low)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found on 127.0.0.1"
}

# Starts the server on STATE_DIR's port, or on a free one, and records the port there.
#   $1  the server's name, for messages
#   $2  its log, for messages
#   $3  a function: "$3" PORT starts the server on PORT, returning 0 once it is up, else 1
#   $4  a function: after a failed start, 0 if it failed because the port was taken
#   $5  a function: prints the failed start's log to stderr
start_on_a_port() {
    local name=$1 log=$2 launch=$3 port_taken=$4 show_log=$5 port attempt
    for attempt in 1 2 3 4 5; do
        if [[ -f $state_dir/port ]]; then
            port=$(cat "$state_dir/port")
        else
            port=$(pick_port)
        fi
        if "$launch" "$port"; then
            printf '%s\n' "$port" >"$state_dir/port"
            return 0
        fi
        # Someone took the port between picking and binding: pick another, unless it was
        # the port of a resumed server (its URL is already handed out).
        if [[ -f $state_dir/port ]] || ! "$port_taken"; then
            "$show_log"
            die "$name did not start (attempt $attempt); log: $log"
        fi
    done
    die "$name could not bind a free port"
}

# 'status': the URL in STATE_DIR's file $1 and exit 0 if the command after it succeeds (the server
# is running), else exit 3.
report_status() {
    local url_file=$1
    shift
    if "$@"; then
        echo "running: $(cat "$state_dir/$url_file")"
        exit 0
    fi
    echo "not running"
    exit 3
}
