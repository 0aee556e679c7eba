"""The seed's pipeline end to end: API → Redis → relay --kafka → Kafka → consume → database.

Starts the stack of checks.chaos with --kafka (redis-server, tansu, the database of record, two
`coupongate serve`, one `coupongate relay --kafka`, two `coupongate consume` in one group), creates
a campaign of LIMIT coupons and sends APPLIES applies of distinct users over both instances. Then,
once reconcile finds the database consistent with Redis: the rows are exactly the 200s (same user,
same sequence, sequences 1..n), and the topic, read from the start with librdkafka, holds exactly one
event per winner, with the winner's sequence, keyed by the campaign id.

With --tls the broker is reached only over TLS (its TLS listener, harness.servers.TLSProxy, with a
throwaway CA): the relay and the consumers trust that CA (--kafka-ca-file), librdkafka reads the topic
over TLS; a relay and a consumer that trust another CA exit promptly at start, naming TLS, and so do
ones whose SCRAM login a broker with --authentication refuses (tansu 0.6 cannot be given a user: see
checks.kafka_security).

Usage: python3 -m checks.kafka_pipeline PATH_TO_COUPONGATE [--database postgres|mysql] [--applies N] [--tls]
"""
import argparse
import json
import subprocess
import tempfile
import threading
import time
import uuid

from checks.chaos import TOPIC, TOKEN, Stack
from harness.api import apply_again, create_campaign, parse_apply
from harness.checks import Checks
from harness.invariants import answer_violations, row_violations
from harness.net import NotReady, metric_values, request, wait_until
from harness.processes import Coupongate
from harness.relay import drain
from harness.servers import Database, Kafka, make_certificates

CLIENTS = 8


def applies(stack, campaign, users):
    """Every user applies once, alternating instances: [(user, status, sequence)]."""
    answers, lock = [], threading.Lock()

    def client(index):
        for user in users[index::CLIENTS]:
            api = stack.apis[user % 2]
            try:
                status, _, body = request(api.port, "POST", f"/campaigns/{campaign}/apply?userId={user}")
            except OSError:
                status, body = 0, b""
            with lock:
                answers.append((user, status, parse_apply(status, body)[0] if status == 200 else None))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def topic_events(bootstrap, expected, timeout=60, settings=None):
    """The topic's records from the start, read by librdkafka: [(key, event dict)]. `settings` adds
    librdkafka settings (TLS)."""
    from confluent_kafka import Consumer
    consumer = Consumer({**(settings or {}), "bootstrap.servers": bootstrap, "group.id": f"pipeline-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    events = []
    try:
        consumer.subscribe([TOPIC])
        deadline = time.time() + timeout
        # Past the expected count a little, to see duplicates too.
        quiet_until = None
        while time.time() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if len(events) >= expected:
                    quiet_until = quiet_until or time.time() + 3
                    if time.time() > quiet_until:
                        break
                continue
            if not message.error():
                events.append((message.key(), json.loads(message.value())))
    finally:
        consumer.close()
    return events


def check_lag(check, stack, partitions=3):
    """Once drained, the consumers' lag gauges cover every partition of the topic and read 0, and a
    consumer's /dashboard is served (it shows that lag)."""
    def lags():
        found = {}
        for consumer in stack.consumers:
            for name, value in metric_values(consumer.metrics_port).items():
                if name.startswith("coupongate_consumer_lag_records{") and f'topic="{TOPIC}"' in name:
                    partition = name.split('partition="')[1].split('"')[0]
                    found[partition] = found.get(partition, 0) + value
        return found
    try:
        # The gauges follow the commits within a second.
        wait_until("the consumers report zero lag on every partition",
                   lambda: len(lags()) == partitions and sum(lags().values()) == 0, timeout=15)
        check(True, f"consumer lag per partition on /metrics: {lags()}")
    except NotReady:
        check(False, f"consumer lag per partition on /metrics, every partition at 0 once drained: {lags()}")
    status, _, body = request(stack.consumers[0].metrics_port, "GET", "/dashboard")
    check(status == 200 and b'id="kafka-lag"' in body, f"a consumer serves the dashboard with its lag tile ({status})")


def check_refused_start(check, stack, what, flags, error, env=None):
    """A relay and a consumer whose Kafka security settings the broker refuses stop at start, promptly,
    with a non-zero exit and a log line naming `error`, instead of retrying for ever."""
    for command in (["relay", *stack.common], ["consume", *stack.database.flag]):
        process = Coupongate(command[0], *flags, *command[1:], "--log-level", "info", announces_port=False, env=env).start()
        started = time.time()
        try:
            status = process.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            status = process.kill()
        elapsed = time.time() - started
        output = "".join(process.tail)
        print(f"  {command[0]} {what}: exit {status} after {elapsed:.1f} s: "
              + next((line.strip() for line in process.tail if error in line), f"(no {error} logged)"), flush=True)
        check(status not in (0, "hung") and elapsed < 30 and error in output,
              f"{command[0]} {what} exits at start ({status} after {elapsed:.1f} s) naming {error}:\n{output[-1500:]}")
        for secret in (env or {}).values():
            check(secret not in output, f"{command[0]} {what} never logs the password")


def main():
    parser = argparse.ArgumentParser(prog="python3 -m checks.kafka_pipeline")
    parser.add_argument("binary")
    parser.add_argument("--database", default="mysql", choices=Database.KINDS)
    parser.add_argument("--applies", type=int, default=20_000)
    parser.add_argument("--tls", action="store_true", help="the broker behind a TLS listener; relay and consumers trust its CA")
    options = parser.parse_args()
    Coupongate.binary = options.binary
    Kafka.ensure_client()
    check = Checks(f"kafka pipeline ({options.database}{', TLS' if options.tls else ''})")
    limit = options.applies // 2
    campaign = "pipeline"
    state = tempfile.mkdtemp(prefix="cg-kafka-pipeline-")
    files = make_certificates(state) if options.tls else None
    librdkafka = {"security.protocol": "SSL", "ssl.ca.location": files["ca.pem"]} if files else None
    stack = Stack(state, options.database, kafka=True,
                  kafka_tls=(files["server.pem"], files["server.key"], files["ca.pem"]) if files else None)
    try:
        create_campaign(stack.apis[0].port, TOKEN, campaign, limit)
        started = time.time()
        answers = applies(stack, campaign, list(range(1, options.applies + 1)))
        print(f"kafka pipeline: {len(answers)} applies in {time.time() - started:.1f} s", flush=True)
        problems, winners = answer_violations(((user, status, (sequence, None), None) for user, status, sequence in answers),
                                              allowed={422})
        check(not problems, f"every apply answered 200 or 422: {problems[:5]}")
        check(len(winners) == limit, f"{limit} answered 200, got {len(winners)}")

        drained_at = time.time()
        rows, undrained = drain(options.binary, stack.common, stack.database, [campaign], timeout=120, supervise=stack.supervise)
        check(not undrained, f"the consumers wrote every winner (reconcile): {undrained.get(campaign, '')}")
        print(f"kafka pipeline: drained {time.time() - drained_at:.1f} s after the last answer", flush=True)
        violations = row_violations(rows[campaign], limit, winners,
                                    lambda user: apply_again(stack.apis[0].port, f"/campaigns/{campaign}/apply?userId={user}"))
        check(not violations, f"the rows are exactly the 200s: {violations[:5]}")
        check(len(rows[campaign]) == len(winners), f"rows == 200s ({len(rows[campaign])} rows, {len(winners)} 200s)")

        check_lag(check, stack)

        events = topic_events(stack.kafka.bootstrap, len(winners), settings=librdkafka)
        by_user = {}
        for key, event in events:
            by_user.setdefault(event["userId"], []).append((key, event))
        check(len(events) == len(winners), f"the topic holds {len(winners)} events, got {len(events)}")
        check(all(len(found) == 1 for found in by_user.values()), "one event per winner, no duplicates")
        check(set(by_user) == set(winners), "the topic's winners are the 200s")
        check(all(key == campaign.encode() and event["campaignId"] == campaign and event["sequence"] == winners[user]
                  for user, found in by_user.items() if user in winners for key, event in found),
              "each event is keyed by the campaign id and carries the winner's sequence")
        if files:
            check_refused_start(check, stack, "trusting another CA",
                                ["--kafka", stack.kafka.bootstrap, "--kafka-ca-file", files["other-ca.pem"]], "tlsFailed")
            authenticating = Kafka(state, tls=(files["server.pem"], files["server.key"]), authentication=True).start()
            try:
                check_refused_start(check, stack, "with an unknown SCRAM user",
                                    ["--kafka", authenticating.bootstrap, "--kafka-ca-file", files["ca.pem"],
                                     "--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-username", "nobody"],
                                    "authenticationFailed", env={"COUPONGATE_KAFKA_PASSWORD": "wrong-password"})
            finally:
                authenticating.stop()
    finally:
        stack.stop()
        subprocess.run(["rm", "-rf", state])
    check.finish()


if __name__ == "__main__":
    main()
