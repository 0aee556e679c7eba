#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this).
#
# Installs the system packages the build needs when they are missing
# (scripts/setup.sh: MariaDB Connector/C, and the stacks' servers), checks the formatting and the docs'
# links (checks.doc_links), runs the Python unit tests (harness/, the k6
# converter, the link check), builds in debug mode (warnings are errors, see
# Package.swift), installs redis-server when it is missing (the Redis tests
# start their own servers), starts a throwaway PostgreSQL
# (servers/postgres-server.sh) and a throwaway MariaDB
# (servers/mariadb-server.sh), each installed with apt-get if missing, runs
# every Swift Testing suite (the integration targets too:
# COUPONGATE_INTEGRATION=1), then drives the real binaries end to end with the
# checks in checks/ (run as `python3 -m checks.NAME BINARY`, on the shared code
# in harness/): the embedded default (checks.serve_smoke), the load generator
# and its reports (checks.loadtest_smoke, with Chromium, installed with apt-get
# if missing), the monitoring stack (checks.monitoring_check: the dashboard in
# Chromium, Prometheus and InfluxDB from Debian's packages) and distributed mode
# under faults with PostgreSQL and with MariaDB as the database of record
# (checks.distributed_smoke, checks.chaos's short form), the seed's pipeline
# through Kafka (tansu, from PyPI: checks.kafka_interop, kafka_consumer_interop,
# kafka_pipeline, chaos --kafka), and the scale-out
# stack: a Redis Cluster, three instances behind nginx (checks.cluster_smoke).
# PostgreSQL and MariaDB are stopped and their data deleted on exit, whether the
# tests pass or not.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "redis-server for the RESP integration tests"
# The tests start their own redis-server on free ports; they only need the binary.
if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
        # The package may start a system Redis on 6379; the tests do not use it.
        (service redis-server stop || true) >/dev/null 2>&1
    else
        echo "redis-server is missing: install it (apt-get install -y redis-server) and run again" >&2
        exit 1
    fi
fi
redis-server --version

step "chromium for the report and dashboard checks"
# The load-test smoke opens report.html in headless Chromium.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is missing: install it (apt-get install -y chromium) and run again" >&2
        exit 1
    fi
fi
chromium --version

pg_state=.test-servers/postgres
mariadb_state=.test-servers/mariadb
stop_servers() {
    servers/postgres-server.sh stop "$pg_state" || true
    servers/mariadb-server.sh stop "$mariadb_state" || true
}

step "system packages (scripts/setup.sh: MariaDB Connector/C and pkg-config for the build; what the stacks start)"
# The CMariaDB target wraps libmariadb: its headers and pkg-config file must be installed. The same
# command a new user types before `loadtest --stack` also installs redis-server, PostgreSQL, MariaDB, tansu.
scripts/setup.sh

step "format check (swift format lint)"
swift format lint --strict --recursive Package.swift Sources Tests

step "docs: every relative link resolves, nothing points outside the repository"
python3 -m checks.doc_links

step "Python unit tests: harness/, the k6 converter (loadtest/k6_to_results.py), the docs link check"
python3 -m unittest harness.test_harness loadtest.test_k6_to_results checks.test_doc_links

step "build (debug, with tests)"
swift build --build-tests
bin="$(swift build --show-bin-path)/coupongate"

# One trap for both servers, set before either starts (stopping one never started is a no-op).
trap stop_servers EXIT

step "PostgreSQL for the store tests (servers/postgres-server.sh)"
servers/postgres-server.sh start "$pg_state"
POSTGRES_URL=$(cat "$pg_state/postgres.url")
POSTGRES_SOCKET_URL=$(cat "$pg_state/postgres-socket.url")
export POSTGRES_URL POSTGRES_SOCKET_URL

step "MariaDB for the MySQL store tests (servers/mariadb-server.sh)"
servers/mariadb-server.sh start "$mariadb_state"
MYSQL_URL=$(cat "$mariadb_state/mysql.url")
MYSQL_SOCKET_URL=$(cat "$mariadb_state/mysql-socket.url")
# The CA that signed the server's TLS certificate, and one that did not (for the TLS tests).
MYSQL_TLS_CA=$(cd "$mariadb_state" && pwd)/mysql-ca.pem
MYSQL_TLS_OTHER_CA=$(cd "$mariadb_state" && pwd)/mysql-other-ca.pem
export MYSQL_URL MYSQL_SOCKET_URL MYSQL_TLS_CA MYSQL_TLS_OTHER_CA

step "unit, store and HTTP tests"
# Suites run one after another: several drive 20,000 concurrent applies, and on
# two cores that load would make the deadline and "within a second" tests flaky.
# The integration test targets (Tests/IntegrationTests, Tests/ClusterIntegrationTests) run only
# with this set, and then a server they cannot reach is a failure, never a skip.
# The Kafka interop tests need a broker: checks.kafka_interop and checks.kafka_consumer_interop, next,
# start one and run them.
export COUPONGATE_INTEGRATION=1
swift test --skip-build --no-parallel --skip KafkaBrokerInteropTests --skip KafkaConsumerInteropTests --skip KafkaSecurityInteropTests

step "Kafka client against a real broker: tansu, and librdkafka reading what ours wrote (pip-installs both when missing)"
python3 -m checks.kafka_interop

step "Kafka client over TLS and SASL: tansu behind a TLS listener and with --authentication, librdkafka reading over TLS"
python3 -m checks.kafka_security

step "Kafka consumer against a real broker: tansu, alone, in a group with librdkafka, through a stalled broker"
python3 -m checks.kafka_consumer_interop

step "the seed's pipeline end to end: 20,000 applies → relay --kafka → tansu → two consumers → MariaDB"
python3 -m checks.kafka_pipeline "$bin" --database mysql

step "the same into PostgreSQL"
python3 -m checks.kafka_pipeline "$bin" --database postgres

step "the pipeline over TLS: 4,000 applies, relay and consumers trusting the broker's CA; an untrusted CA and a refused SCRAM login stop them at start"
python3 -m checks.kafka_pipeline "$bin" --database postgres --tls --applies 4000

step "end-to-end: coupongate serve"
python3 -m checks.serve_smoke "$bin"

step "end-to-end: slowloris, accept burst, oversized input (header timeout, backlog, limits)"
python3 -m checks.overload_check "$bin"

step "API fuzzing: schemathesis against openapi.yaml, every check (pip-installs schemathesis when missing)"
python3 -m checks.api_fuzz "$bin" --seed 1

step "end-to-end: coupongate loadtest and the k6 runner (four phases scaled down, reports, Chromium)"
python3 -m checks.loadtest_smoke "$bin"

step "loadtest --stack postgres, mysql and kafka (phases scaled down): rows == 200s, CPU per process, nothing left after SIGINT"
python3 -m checks.loadtest_stacks "$bin"

step "monitoring: dashboard in Chromium, Prometheus scrape and Grafana queries, k6 into InfluxDB"
# Installs Debian's prometheus and influxdb with apt-get when missing.
python3 -m checks.monitoring_check "$bin"

step "end-to-end: distributed mode under faults (relay SIGKILL, PostgreSQL stop, Redis kill)"
python3 -m checks.distributed_smoke "$bin"

step "end-to-end: the same with MariaDB as the database of record (relay SIGKILL, MariaDB stop, Redis kill)"
python3 -m checks.distributed_smoke "$bin" --database mysql

step "fault suite, short form: one round per fault type (python3 -m checks.chaos BINARY --rounds 50 runs it by hand)"
python3 -m checks.chaos "$bin"

step "fault suite, short form, MariaDB as the database of record"
python3 -m checks.chaos "$bin" --database mysql

step "fault suite, short form, the seed's stack through Kafka (relay/consumer killed, rebalance, broker stalled or restarted empty, poison record)"
python3 -m checks.chaos "$bin" --kafka --database mysql

step "scale-out: 30 campaigns through 3 instances behind nginx on a 3+3 Redis Cluster (reshard, master killed, Idempotency-Key)"
# Installs Debian's nginx when missing; servers/redis-cluster.sh starts the cluster.
python3 -m checks.cluster_smoke "$bin"

printf "\ntest.sh: every step passed\n"
