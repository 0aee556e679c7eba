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
set -euo pipefail

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
