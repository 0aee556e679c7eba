#!/usr/bin/env bash
# A throwaway MariaDB server for the tests: never the system's server or service.
#
#   servers/mariadb-server.sh start  [STATE_DIR]  start (creating it if needed); prints the URL
#   servers/mariadb-server.sh halt   [STATE_DIR]  stop the server but keep its data ('start' resumes it at the same URL)
#   servers/mariadb-server.sh stop   [STATE_DIR]  stop the server and delete its data
#   servers/mariadb-server.sh status [STATE_DIR]  exit 0 and print the URL if running, exit 3 if not
#
# STATE_DIR defaults to .test-servers/mariadb in the repository (gitignored).
# 'start' writes there:
#   mysql.url           mysql://coupongate:<password>@127.0.0.1:<port>/coupongate_test (TCP)
#   mysql-socket.url    mysql://coupongate:<password>@localhost/coupongate_test?socket=<dir>/mysqld.sock (unix socket)
#   mysql-ca.pem        the certificate of the CA that signed the server's (only with TLS)
#   mysql-other-ca.pem  the certificate of an unrelated CA, which must fail verification (only with TLS)
# Both URLs log in as 'coupongate' with a random password and ALL PRIVILEGES ON *.*
# (the tests create and drop a database of their own per test).
#
# TLS: the server offers TLS, on TCP and on the socket, optional for clients (no
# require_secure_transport: plain connections work as without it). Its certificate (CN localhost, subjectAltName
# IP:127.0.0.1 and DNS:localhost, EC P-256, valid 10 years) is signed by a throwaway CA made with
# openssl when the server is created; openssl is installed with apt-get (as root) if missing.
# COUPONGATE_MARIADB_TLS=off when the server is created (the first 'start', the next after 'stop',
# or one that finds the server's data gone) makes one without TLS (have_ssl DISABLED, no
# mysql-ca.pem), e.g. to check that a client demanding TLS is refused. The choice is kept in
# STATE_DIR's 'tls' file, so 'halt' and 'start' keep it; COUPONGATE_MARIADB_TLS set to the other
# value for an existing server is an error. (Connector/C 3.3 refuses a server without TLS only
# with MYSQL_OPT_SSL_VERIFY_SERVER_CERT; MYSQL_OPT_SSL_ENFORCE alone falls back to plain text.)
#
# The server lives in a short directory under /tmp, owned by the user the
# server runs as: as root that is 'mysql' (created by Debian's package), and the
# unix socket path must stay under ~100 bytes, which a deep checkout could
# exceed. It listens on 127.0.0.1 at a free port picked here and on a socket in
# that directory, and reads no option file (--no-defaults: /etc/mysql/my.cnf and
# ~/.my.cnf would point it at the system's socket, pid file and data), with
# InnoDB flushing its log at every commit, like a real server, and Debian's
# packaged defaults for text: utf8mb4 with utf8mb4_general_ci (case-insensitive
# comparisons unless a schema says otherwise; without an option file the
# server's own default would be latin1). The MariaDB root
# account is reachable only over the socket by the user who ran 'start'
# (unix_socket authentication); this script uses it to create 'coupongate'.
# If MariaDB is missing it is installed with apt-get (as root); if apt started
# the system service, it is stopped again.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
command=${1:-}
state_dir=${2:-$repo/.test-servers/mariadb}
database=coupongate_test
user=coupongate

# For db-server-lib.sh.
script_name=mariadb-server.sh
server_owner=mysql
server_dir_prefix=/tmp/coupongate-mariadb
# shellcheck source-path=SCRIPTDIR source=db-server-lib.sh
source "$script_dir/db-server-lib.sh"

# The first of the named programs on PATH or in the sbin directories, which a non-root PATH
# lacks (Debian installs the server as /usr/sbin/mariadbd, with a mysqld symlink).
find_program() {
    local name
    for name in "$@"; do
        PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin command -v "$name" 2>/dev/null && return 0
    done
    return 1
}

# The server, its installer and the two clients, under their MariaDB names or the old MySQL ones.
find_programs() {
    mariadbd=$(find_program mariadbd mysqld) &&
        install_db=$(find_program mariadb-install-db mysql_install_db) &&
        admin_tool=$(find_program mariadb-admin mysqladmin) &&
        client=$(find_program mariadb mysql)
}

install_mariadb() {
    find_programs && return 0
    # mariadb-server (not just mariadb-server-core): its preinst creates the 'mysql' user the
    # server runs as when we are root, and it pulls in mariadb-client (mariadb, mariadb-admin).
    install_with_apt MariaDB mariadb-server "mariadb-server (mariadbd, mariadb-install-db, mariadb-admin, mariadb)"
    # The package may start the system service (invoke-rc.d or systemd, unless policy-rc.d
    # forbids it); the tests never use it. Only stop it if it is up: when its own shutdown
    # fails, Debian's init script falls back to 'killall mariadbd', which would hit every
    # test server on the machine too.
    if [[ -f /run/mysqld/mysqld.pid || -S /run/mysqld/mysqld.sock ]]; then
        say "stopping the system MariaDB service that apt started"
        if command -v service >/dev/null; then
            service mariadb stop >&2 || true
        elif command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
            systemctl stop mariadb.service >&2 || true
        elif [[ -x /etc/init.d/mariadb ]]; then
            /etc/init.d/mariadb stop >&2 || true
        fi
    fi
    find_programs || die "apt-get installed mariadb-server, but mariadbd, mariadb-install-db, mariadb-admin or mariadb is still missing"
}

# openssl makes the TLS certificates (only for a server with TLS).
install_openssl() {
    openssl=$(find_program openssl) && return 0
    install_with_apt openssl openssl openssl " (or start with COUPONGATE_MARIADB_TLS=off)"
    openssl=$(find_program openssl) || die "apt-get installed openssl, but there is still no openssl program"
}

# Checked only after install_mariadb: on a fresh machine the user appears with the package.
require_mysql_user() {
    as_root || return 0
    id mysql >/dev/null 2>&1 || die "running as root, but there is no 'mysql' user to run the server as (Debian's mariadb-server package creates it)"
}

# The MariaDB account this script administers the server with: the name of the user running it,
# created by mariadb-install-db with unix_socket authentication (so only that OS user can use it,
# and only over the socket). As root that is MariaDB's own root account.
admin_account=$(id -un 2>/dev/null || true)
require_admin_account() {
    [[ -n $admin_account ]] || die "uid $(id -u) has no user name; unix_socket authentication needs one"
}

server_dir() {
    [[ -f $state_dir/server ]] && cat "$state_dir/server"
}

# Everything 'start' writes into STATE_DIR.
state_files=(server port password tls mysql.url mysql-socket.url mysql-ca.pem mysql-other-ca.pem)
forget_server() {
    local file
    for file in "${state_files[@]}"; do
        rm -f "$state_dir/$file"
    done
}

# COUPONGATE_MARIADB_TLS as given: 'on', 'off', or empty (unset: on for a new server).
requested_tls=${COUPONGATE_MARIADB_TLS:-}
check_requested_tls() {
    [[ -z $requested_tls || $requested_tls == on || $requested_tls == off ]] ||
        die "COUPONGATE_MARIADB_TLS must be 'on' or 'off', not '$requested_tls'"
}

# Prints the TLS setting ('on' or 'off') recorded for this STATE_DIR's server, if any: none for a
# new server, or for one an older version of this script made (which has no TLS).
recorded_tls() {
    local value
    value=$(cat "$state_dir/tls" 2>/dev/null) || return 1
    [[ $value == on || $value == off ]] || return 1
    echo "$value"
}

# A request for the other setting than the server's fails, rather than handing the caller a
# server it does not expect.
require_requested_tls() {
    [[ -z $requested_tls || $requested_tls == "$tls" ]] ||
        die "COUPONGATE_MARIADB_TLS=$requested_tls, but the server of $state_dir was made with TLS $tls; 'stop' it first to change that"
}

# Sets 'tls' for a server that is not running: as recorded, else as requested (default on), which
# is recorded then.
choose_tls() {
    if tls=$(recorded_tls); then
        require_requested_tls
    else
        tls=${requested_tls:-on}
        printf '%s\n' "$tls" >"$state_dir/tls"
    fi
}

# Whether the server's TLS files are all there.
have_certificates() {
    local server=$1 file
    for file in ca.pem other-ca.pem server-cert.pem server-key.pem; do
        [[ -s $server/tls/$file ]] || return 1
    done
}

# Makes the server's TLS files in <server>/tls with openssl: ca.pem, a throwaway CA's self-signed
# certificate; server-key.pem and server-cert.pem, the server's key and its certificate signed by
# that CA (CN localhost, subjectAltName IP:127.0.0.1 and DNS:localhost, for clients that verify
# the host name); other-ca.pem, an unrelated CA's certificate. The CAs' keys are discarded once
# used. EC P-256 keys: made in a millisecond (RSA takes far longer), and accepted by MariaDB with
# OpenSSL 3 and by Connector/C. Valid 10 years. Made in a scratch directory, then renamed into
# place, so a half-made set never counts. Owned by the server's owner like the rest of <server>
# (mode 700): the certificates mode 644, the key 600.
create_certificates() {
    local server=$1 work=$1/tls.new
    rm -rf "$work" "$server/tls"
    mkdir -m 700 "$work"
    # Not 'set -e' inside: 'if' ignores it there, so each step is chained with &&.
    if ! (
        cd "$work" && umask 077 && cat >openssl.cnf <<'EOF' &&
[req]
distinguished_name = dn
[dn]
[ca_cert]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_cert]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
            "$openssl" req -config openssl.cnf -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout ca-key.pem -out ca.pem -days 3650 -set_serial "0x$(random_hex)" \
                -subj "/CN=coupongate test CA" -extensions ca_cert &&
            "$openssl" req -config openssl.cnf -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout other-ca-key.pem -out other-ca.pem -days 3650 -set_serial "0x$(random_hex)" \
                -subj "/CN=coupongate unrelated test CA" -extensions ca_cert &&
            "$openssl" req -config openssl.cnf -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout server-key.pem -out server.csr -subj "/CN=localhost" &&
            "$openssl" x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -set_serial "0x$(random_hex)" \
                -days 3650 -sha256 -extfile openssl.cnf -extensions server_cert -out server-cert.pem &&
            "$openssl" verify -CAfile ca.pem server-cert.pem &&
            rm -f ca-key.pem other-ca-key.pem server.csr openssl.cnf &&
            chmod 644 ca.pem other-ca.pem server-cert.pem
    ) >"$server/openssl.log" 2>&1; then
        tail -n 30 "$server/openssl.log" >&2 || true
        rm -rf "$work"
        die "openssl could not make the TLS certificates (its log is above)"
    fi
    if as_root; then
        chown -R mysql: "$work"
    fi
    mv "$work" "$server/tls"
}

# Whether a process is alive (a zombie is not: a container's init may never reap the server).
process_alive() {
    local pid=$1 state
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r /proc/$pid/stat ]]; then
        state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 0
        [[ $state != Z ]] || return 1
    fi
    return 0
}

# Prints the pid of this STATE_DIR's server if it is running: the pid file it wrote, checked
# against the process's command line, since after a crash the pid may belong to someone else.
server_pid() {
    local server=$1 pid
    [[ -f $server/mariadbd.pid ]] || return 1
    pid=$(cat "$server/mariadbd.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    process_alive "$pid" || return 1
    if [[ -r /proc/$pid/cmdline ]]; then
        tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "--datadir=$server/data" || return 1
    fi
    echo "$pid"
}

is_running() {
    local server
    server=$(server_dir) || return 1
    server_pid "$server" >/dev/null
}

# mariadb-admin or mariadb as the admin account, over this server's socket only. --no-defaults:
# a [client] section in /etc/mysql or ~/.my.cnf must not add a user, password or host.
admin() {
    local server=$1 tool=$2
    shift 2
    "$tool" --no-defaults --protocol=socket --socket="$server/mysqld.sock" --user="$admin_account" \
        --connect-timeout=5 "$@"
}

write_new_password() {
    write_private "$state_dir/password" "$(random_hex)"
}

create_server() {
    local server
    server=$(make_server_dir)
    mkdir -m 700 "$server/tmp"
    as_root && chown "$server_owner": "$server/tmp"
    # Like Debian's postinst: no test database (it grants every user access to test_%), and
    # --cross-bootstrap, so no host-name lookup (which fails on some containers) and no grant
    # rows naming this machine's host name (the server skips name resolution and would warn).
    # --auth-root-socket-user: the admin account (see admin_account); as root, root itself.
    if ! as_owner "$install_db" --no-defaults --datadir="$server/data" --tmpdir="$server/tmp" \
        --auth-root-authentication-method=socket --auth-root-socket-user="$admin_account" \
        --skip-test-db --cross-bootstrap --skip-name-resolve >"$server/install-db.log" 2>&1; then
        tail -n 30 "$server/install-db.log" >&2 || true
        rm -rf "$server"
        die "mariadb-install-db failed (its log is above)"
    fi
    mkdir -p "$state_dir"
    printf '%s\n' "$server" >"$state_dir/server"
    write_new_password
}

# Starts mariadbd in the background, in a session of its own (so the caller's terminal signals and
# process-group kills do not reach it), and prints its pid. It reads no option file, so every
# setting is here.
launch_server() {
    local server=$1 port=$2 owner=()
    as_root && owner=(--user=mysql)
    local args=(
        --no-defaults # must come first
        "${owner[@]}"
        --datadir="$server/data"
        --tmpdir="$server/tmp"
        --socket="$server/mysqld.sock"
        --port="$port"
        --bind-address=127.0.0.1
        --pid-file="$server/mariadbd.pid"
        --log-error="$server/error.log"
        --skip-name-resolve
        --character-set-server=utf8mb4
        --collation-server=utf8mb4_general_ci
        --innodb-flush-log-at-trx-commit=1
        --innodb-doublewrite=ON
        --max-connections=300
    )
    if [[ $tls == on ]]; then
        args+=(
            --ssl-ca="$server/tls/ca.pem"
            --ssl-cert="$server/tls/server-cert.pem"
            --ssl-key="$server/tls/server-key.pem"
        )
    fi
    if command -v setsid >/dev/null; then
        setsid "$mariadbd" "${args[@]}" </dev/null >>"$server/console.log" 2>&1 &
    else
        "$mariadbd" "${args[@]}" </dev/null >>"$server/console.log" 2>&1 &
    fi
    echo "$!"
}

# Waits (up to 60 s) until the server answers on its socket; fails at once if it exits.
wait_until_ready() {
    local server=$1 pid=$2
    for _ in $(seq 1 120); do
        if admin "$server" "$admin_tool" ping >/dev/null 2>&1; then
            return 0
        fi
        process_alive "$pid" || return 1
        sleep 0.5
    done
    return 1
}

# Waits (up to $2 seconds) for a process to exit.
wait_gone() {
    local pid=$1 seconds=$2
    for _ in $(seq 1 $((seconds * 10))); do
        process_alive "$pid" || return 0
        sleep 0.1
    done
    ! process_alive "$pid"
}

# The start_on_a_port functions, for the server in $server. A failed start leaves no server process
# behind, its lines of the error log in attempt_log, and where its lines of the console log begin in
# attempt_console_size.
launch_server_and_wait() {
    local port=$1 log_size pid
    log_size=$(stat -c %s "$server/error.log" 2>/dev/null || echo 0)
    attempt_console_size=$(stat -c %s "$server/console.log" 2>/dev/null || echo 0)
    pid=$(without_inherited_fds launch_server "$server" "$port")
    wait_until_ready "$server" "$pid" && return 0
    attempt_log=$(tail -c +"$((log_size + 1))" "$server/error.log" 2>/dev/null || true)
    if process_alive "$pid"; then
        # Still starting after 60 s: do not leave it running half-way.
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 30 || kill -KILL "$pid" 2>/dev/null || true
    fi
    return 1
}
port_was_taken() {
    grep -q "Bind on TCP/IP port\|Address already in use" <<<"$attempt_log"
}
show_attempt_log() {
    # The error log, and what went to stderr before it was open.
    printf '%s\n' "$attempt_log" | tail -n 30 >&2
    tail -c +"$((attempt_console_size + 1))" "$server/console.log" 2>/dev/null | tail -n 10 >&2 || true
}

# Creates the database and the 'coupongate' accounts if missing, and (re)sets their password to
# STATE_DIR's, so a resumed server always matches its URLs. The SQL goes in on stdin: a password
# in the arguments would show in ps.
ensure_user() {
    local server=$1 password
    password=$(cat "$state_dir/password")
    admin "$server" "$client" --batch <<EOF
CREATE DATABASE IF NOT EXISTS $database;
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$user'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER '$user'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'localhost';
EOF
}

# Logs in as the tests will, over TCP with the password, so a broken URL fails here and not in a test;
# with TLS, also over TLS, verifying the certificate and the host name as ssl-mode=verify-identity does.
check_tcp_login() {
    local server=$1 port password cipher
    port=$(cat "$state_dir/port")
    password=$(cat "$state_dir/password")
    MYSQL_PWD=$password "$client" --no-defaults --protocol=tcp --host=127.0.0.1 --port="$port" \
        --user="$user" --connect-timeout=5 --batch --skip-column-names -e "SELECT 1" "$database" >/dev/null ||
        die "the server is up, but '$user' cannot log in over TCP at 127.0.0.1:$port"
    [[ $tls == on ]] || return 0
    cipher=$(MYSQL_PWD=$password "$client" --no-defaults --protocol=tcp --host=127.0.0.1 --port="$port" \
        --user="$user" --connect-timeout=5 --ssl --ssl-ca="$server/tls/ca.pem" --ssl-verify-server-cert \
        --batch --skip-column-names -e "SHOW SESSION STATUS LIKE 'Ssl_cipher'" "$database" | cut -f2) ||
        die "the server is up, but '$user' cannot log in over TLS (verifying its certificate) at 127.0.0.1:$port"
    [[ -n $cipher ]] || die "'$user' logged in with --ssl at 127.0.0.1:$port, but not over TLS"
}

write_urls() {
    local server=$1 port password
    port=$(cat "$state_dir/port")
    password=$(cat "$state_dir/password")
    # mktemp names are [A-Za-z0-9], so the socket path needs no percent-encoding.
    write_private "$state_dir/mysql.url" "mysql://$user:$password@127.0.0.1:$port/$database"
    write_private "$state_dir/mysql-socket.url" "mysql://$user:$password@localhost/$database?socket=$server/mysqld.sock"
}

# Copies the CA certificates for the tests into STATE_DIR when the server has TLS (only if they
# changed: a test may be reading them), and removes them when it has not.
write_ca_files() {
    local server=$1 name
    for name in ca other-ca; do
        if [[ $tls == on ]]; then
            cmp -s "$server/tls/$name.pem" "$state_dir/mysql-$name.pem" ||
                (umask 022 && cat "$server/tls/$name.pem" >"$state_dir/mysql-$name.pem")
        else
            rm -f "$state_dir/mysql-$name.pem"
        fi
    done
}

# Stops the server: a clean shutdown over the socket (mariadb-admin waits for the pid file to go),
# else SIGTERM to the pid in the pid file (which also shuts down cleanly), each waited for (60 s).
# Fails if the process is still there after both.
stop_server() {
    local server=$1 pid
    pid=$(server_pid "$server") || return 0
    if find_programs && admin "$server" "$admin_tool" --shutdown-timeout=60 shutdown >/dev/null 2>&1; then
        wait_gone "$pid" 60 && return 0
    fi
    say "mariadb-admin shutdown did not stop mariadbd ($pid); sending SIGTERM"
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 60
}

case $command in
start)
    check_requested_tls
    install_mariadb
    require_mysql_user
    require_admin_account
    mkdir -p "$state_dir"
    state_dir=$(cd "$state_dir" && pwd)
    if is_running; then
        server=$(server_dir)
        if tls=$(recorded_tls); then
            require_requested_tls
        else
            # Started by an older version of this script, without TLS; its next start decides.
            tls=off
            [[ $requested_tls == off ]] ||
                echo "mariadb-server.sh: this server was started without TLS by an older version of this script; 'halt' and 'start' it to add TLS" >&2
        fi
        wait_until_ready "$server" "$(server_pid "$server")" || die "mariadbd is running but does not answer; log: $server/error.log"
        write_urls "$server"
        write_ca_files "$server"
        cat "$state_dir/mysql.url"
        exit 0
    fi
    server=$(server_dir || true)
    # mariadb-install-db writes mysql_upgrade_info last, once the system tables are complete.
    if [[ -z $server || ! -f $server/data/mysql_upgrade_info ]]; then
        # What is left of a server this script made (e.g. a half-cleaned /tmp) goes.
        remove_server_dir "$server"
        forget_server
        create_server
        server=$(server_dir)
    elif [[ ! -f $state_dir/password ]]; then
        # Lost: a new one, which ensure_user gives the accounts.
        write_new_password
    fi
    choose_tls
    if [[ $tls == on ]] && ! have_certificates "$server"; then
        install_openssl
        create_certificates "$server"
    fi
    start_on_a_port MariaDB "$server/error.log" launch_server_and_wait port_was_taken show_attempt_log
    ensure_user "$server"
    check_tcp_login "$server"
    write_urls "$server"
    write_ca_files "$server"
    cat "$state_dir/mysql.url"
    ;;
halt)
    server=$(server_dir || true)
    if [[ -n $server ]]; then
        stop_server "$server" || die "mariadbd did not stop; log: $server/error.log"
    fi
    ;;
stop)
    [[ -d $state_dir ]] || exit 0
    server=$(server_dir || true)
    if [[ -n $server ]] && ! stop_server "$server"; then
        # Its data is being deleted anyway.
        if pid=$(server_pid "$server"); then
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 10 || true
        fi
    fi
    remove_server_dir "$server"
    forget_server
    ;;
status)
    report_status mysql.url is_running
    ;;
*)
    usage
    ;;
esac
