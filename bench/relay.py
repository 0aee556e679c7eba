"""Relay throughput into each database of record, in one run: PostgreSQL vs MariaDB, and
directly vs through Kafka (relay --kafka → tansu → coupongate consume → the database).

For each database (PostgreSQL by servers/postgres-server.sh, MariaDB by
servers/mariadb-server.sh, both throwaway servers on loopback with durable
commits) and one shared redis-server (AOF, appendfsync always):

  1. `coupongate serve` with no relay creates a campaign with a limit of
     --entries (100,000) and wrk (bench/coupongate.lua, win mode) applies with
     new users until it is sold out, so the outbox holds exactly that many
     coupons, written by the real gate script (one stream entry per gate call,
     so fewer entries); the server is then stopped.
  2. `coupongate relay` starts, and the clock runs until the database holds
     every coupon (polled with the server's own client every 0.1 s). With the
     kafka sink, --consumers `coupongate consume` processes have joined their
     group on a tansu broker first, and the relay runs with --kafka.

It prints, per database: rows, seconds from the relay's start to the last row,
rows/s over that time, rows/s between the first and the last row seen (without
the process start), and the CPU seconds of the relay and of the database
server; then the MariaDB/PostgreSQL ratio, and checks each against the seed's
stress-phase rate (4,242 req/s): a relay slower than the drop that feeds it
would be the drop's bottleneck. It also checks the rows: one per winner, the
sequences 1..N. Through Kafka the target is 20,000 coupons/s (5x the seed's stress rate), and
the CPU of the consumers and the broker per coupon is printed too. Raw logs: bench/results/<time>-relay/.

Usage: python3 -m bench.relay [--entries N] [--databases postgres,mysql] [--sinks database,kafka]
                              [--consumers N] [--rounds R]   (from the repository root)
Environment: BENCH_BIN (a coupongate binary; default: the release build in
.build-release, built when missing), BENCH_SKIP_BUILD=1 (use the existing one).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from bench import release_binary
from harness import REPO
from harness.cpu import cpu_seconds
from harness.api import create_campaign
from harness.processes import Coupongate
from harness.servers import Database, Kafka, Redis

SEED_STRESS_RATE = 4242
KAFKA_TARGET_RATE = 20_000
TOKEN = "bench-relay-admin-token-0123456"


def fill_outbox(redis, database, campaign, entries, run_number, logs):
    """A sold-out drop of `entries` coupons with the relay off; returns the outbox's coupons and entries."""
    # info: the start-up line names the port.
    api = Coupongate("serve", "--port", "0", "--admin-token", TOKEN, "--log-level", "info",
                     "--redis", redis.url, *database.flag).start()
    try:
        create_campaign(api.port, TOKEN, campaign, entries)
        issued_key = f"{{c:{campaign}}}:issued"
        wrk = subprocess.Popen(["wrk", "-t2", "-c64", "-d600s", "-s", os.path.join(REPO, "bench", "coupongate.lua"),
                                f"http://127.0.0.1:{api.port}", "--", "win", f"/campaigns/{campaign}/apply", str(run_number)],
                               stdout=open(os.path.join(logs, f"wrk-{campaign}.txt"), "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while time.time() < deadline:
            issued = redis.cli("GET", issued_key)
            if issued.isdigit() and int(issued) >= entries:
                break
            time.sleep(0.2)
        wrk.send_signal(signal.SIGINT)
        wrk.wait(timeout=30)
    finally:
        api.kill(signal.SIGTERM)
    # With no relay running, every coupon issued is in the outbox.
    coupons, length = redis.cli("GET", issued_key), redis.cli("XLEN", f"{{c:{campaign}}}:outbox")
    return int(coupons or 0), int(length or 0)


def create_topic(bootstrap, partitions=3):
    """The relay's topic, made before the consumers join (as the relay would at its start), so their
    first assignment already has its partitions."""
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic("coupon_create", num_partitions=partitions, replication_factor=1)]).values():
        try:
            future.result(timeout=30)
        except Exception as error:  # the topic of an earlier round
            if "already exists" not in str(error).lower() and "TOPIC_ALREADY_EXISTS" not in str(error):
                raise


def joined(consumer):
    return any("joined a generation" in line for line in list(consumer.tail))


def relay_into(redis, database, campaign, entries, kafka=None, consumer_count=1):
    """Starts a relay (with `kafka`: to it, and consumers writing the database) and times it until
    the database holds `entries` coupons of `campaign`."""
    count_sql = f"SELECT COUNT(*) FROM coupons WHERE campaign_id = '{campaign}'"  # the script's own id, not input
    consumers = []
    if kafka:
        create_topic(kafka.bootstrap)
        consumers = [Coupongate("consume", "--kafka", kafka.bootstrap, *database.flag, "--log-level", "info",
                                announces_port=False).start() for _ in range(consumer_count)]
        deadline = time.time() + 60
        while not all(joined(c) for c in consumers) and time.time() < deadline:
            time.sleep(0.1)
    before = cpu_seconds(*database.pids())  # backends started later count from zero
    consumers_before = cpu_seconds(*(c.process.pid for c in consumers))
    broker_before = cpu_seconds(kafka.process.pid) if kafka else 0
    started = time.time()
    sink = ["--kafka", kafka.bootstrap] if kafka else []
    relay = Coupongate("relay", "--log-level", "warning", "--redis", redis.url, *database.flag, *sink, announces_port=False).start()
    first = None
    rows = 0
    try:
        deadline = started + 600
        while time.time() < deadline:
            rows = int(database.rows(count_sql)[0][0])
            now = time.time()
            if rows > 0 and first is None:
                first = (now, rows)
            if rows >= entries:
                break
            if relay.process.poll() is not None:
                raise SystemExit(f"the relay exited with {relay.process.returncode}:\n{''.join(relay.tail)}")
            time.sleep(0.1)
        finished = time.time()
        relay_cpu = cpu_seconds(relay.process.pid)
        # Before the relay stops: PostgreSQL's backends for its connections exit with it.
        database_cpu = cpu_seconds(*database.pids()) - before
        consumer_cpu = cpu_seconds(*(c.process.pid for c in consumers)) - consumers_before
        broker_cpu = cpu_seconds(kafka.process.pid) - broker_before if kafka else 0
    finally:
        relay.kill(signal.SIGTERM)
        for consumer in consumers:
            consumer.kill(signal.SIGTERM)
    steady = (rows - first[1]) / (finished - first[0]) if first and finished > first[0] else float("nan")
    return {"rows": rows, "seconds": finished - started, "rate": rows / (finished - started), "steady": steady,
            "relay_cpu": relay_cpu, "database_cpu": database_cpu, "consumer_cpu": consumer_cpu, "broker_cpu": broker_cpu}


def check_rows(database, campaign, entries):
    rows = database.rows(f"SELECT COUNT(*), COUNT(DISTINCT user_id), MIN(sequence), MAX(sequence) FROM coupons WHERE campaign_id = '{campaign}'")
    count, users, low, high = (int(x) if x != "NULL" else 0 for x in rows[0])
    problems = []
    if count != entries or users != entries:
        problems.append(f"{count} rows for {users} users, expected {entries} of each")
    if (low, high) != (1, entries):
        problems.append(f"sequences {low}..{high}, expected 1..{entries}")
    return problems


def main():
    parser = argparse.ArgumentParser(prog="python3 -m bench.relay", description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--databases", default="postgres,mysql")
    parser.add_argument("--sinks", default="database", help="database (relay → database) and/or kafka (relay → Kafka → consume)")
    parser.add_argument("--consumers", type=int, default=1, help="coupongate consume processes, with the kafka sink")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each relaying into every database in turn")
    options = parser.parse_args()
    Coupongate.binary = release_binary("bench relay")
    sinks = options.sinks.split(",")
    if set(sinks) - {"database", "kafka"}:
        parser.error("--sinks takes database and kafka")
    # A run is a database and a sink: 'mysql', or 'mysql+kafka'.
    kinds = [f"{database}+kafka" if sink == "kafka" else database for database in options.databases.split(",") for sink in sinks]
    logs = os.path.join(REPO, "bench", "results", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-relay")
    os.makedirs(logs, exist_ok=True)
    state = tempfile.mkdtemp(prefix="cg-bench-relay-")
    redis = Redis(state).start()
    if "kafka" in sinks:
        Kafka.ensure_client()
    kafka = Kafka(state).start() if "kafka" in sinks else None
    servers = {name: Database(name, state).start() for name in options.databases.split(",")}
    databases = {kind: servers[kind.partition("+")[0]] for kind in kinds}
    results = {kind: [] for kind in kinds}
    failed = []
    try:
        run_number = 1
        for round_number in range(1, options.rounds + 1):
            # Alternate the order between rounds, so neither always runs on a warmer machine.
            order = kinds if round_number % 2 else list(reversed(kinds))
            for kind in order:
                database = databases[kind]
                campaign = f"relay-{kind.replace('+', '-')}-{round_number}"
                coupons, length = fill_outbox(redis, database, campaign, options.entries, run_number, logs)
                run_number += 1
                if coupons != options.entries:
                    raise SystemExit(f"the outbox of {campaign} holds {coupons} coupons, expected {options.entries}")
                label = database.name + (" via Kafka" if kind.endswith("+kafka") else "")
                print(f"round {round_number} {label:<20} outbox: {coupons} coupons in {length} entries", flush=True)
                result = relay_into(redis, database, campaign, options.entries,
                                    kafka if kind.endswith("+kafka") else None, options.consumers)
                problems = check_rows(database, campaign, options.entries)
                failed += [f"{database.name}: {p}" for p in problems]
                results[kind].append(result)
                print(f"round {round_number} {label:<20} {result['rows']:>7} rows in {result['seconds']:6.2f} s = "
                      f"{result['rate']:8.0f} rows/s (first to last row {result['steady']:8.0f} rows/s); CPU relay "
                      f"{result['relay_cpu']:5.2f} s, consumers {result['consumer_cpu']:5.2f} s, broker {result['broker_cpu']:5.2f} s, "
                      f"database {result['database_cpu']:5.2f} s", flush=True)
    finally:
        redis.kill()
        if kafka:
            kafka.stop()
        for database in servers.values():
            database.stop()
        subprocess.run(["rm", "-rf", state])

    print()
    print(f"{'run':<20} {'rows/s':>9} {'steady rows/s':>14} {'relay µs/row':>13} {'consume µs/row':>15} {'broker µs/row':>14} "
          f"{'db µs/row':>10}")
    medians = {}
    for kind in kinds:
        runs = sorted(results[kind], key=lambda r: r["rate"])
        median = runs[len(runs) // 2]
        medians[kind] = median
        name = databases[kind].name + (" via Kafka" if kind.endswith("+kafka") else "")
        per_row = {key: median[key] / median["rows"] * 1e6 for key in ("relay_cpu", "consumer_cpu", "broker_cpu", "database_cpu")}
        print(f"{name:<20} {median['rate']:>9.0f} {median['steady']:>14.0f} {per_row['relay_cpu']:>13.1f} {per_row['consumer_cpu']:>15.1f} "
              f"{per_row['broker_cpu']:>14.1f} {per_row['database_cpu']:>10.1f}")
        if median["rate"] < SEED_STRESS_RATE:
            failed.append(f"{name}: {median['rate']:.0f} rows/s is below the seed's stress rate {SEED_STRESS_RATE} req/s")
        if kind.endswith("+kafka") and median["steady"] < KAFKA_TARGET_RATE:
            failed.append(f"{name}: {median['steady']:.0f} coupons/s (first to last row) is below the target {KAFKA_TARGET_RATE}")
    if "postgres" in medians and "mysql" in medians:
        print(f"MariaDB / PostgreSQL: {medians['mysql']['rate'] / medians['postgres']['rate']:.2f}x")
    for kind in kinds:
        if kind in medians and f"{kind}+kafka" in medians:
            print(f"{databases[kind].name}: via Kafka / direct {medians[f'{kind}+kafka']['rate'] / medians[kind]['rate']:.2f}x")
    for kind in kinds:
        name = databases[kind].name + (" via Kafka" if kind.endswith("+kafka") else "")
        print(f"{name}: {medians[kind]['rate'] / SEED_STRESS_RATE:.1f}x the seed's stress-phase rate ({SEED_STRESS_RATE} req/s)")
    with open(os.path.join(logs, "results.json"), "w") as out:
        json.dump({"entries": options.entries, "results": results}, out, indent=2)
    for problem in failed:
        print(f"FAIL {problem}")
    print("PASS" if not failed else "FAIL", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
