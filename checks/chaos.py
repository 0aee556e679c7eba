"""The fault suite: the invariants of DESIGN.md §1 under one injected fault per round.

Starts on loopback the distributed stack as an operator runs it: redis-server
(AOF, appendfsync always), the database of record (PostgreSQL by
servers/postgres-server.sh, or MariaDB by servers/mariadb-server.sh with
--database mysql), two
`coupongate serve` instances and one `coupongate relay` process. Each round
is a drop on a new campaign, paced at --rate requests/s, with more users than
coupons (every user applying twice on alternating instances, some a third
time) and a limit that sells out near the round's end, and in the middle of
it one fault, taken in turn from:

  kill-api        SIGKILL an API instance, start it again
  sigterm-api     SIGTERM an API instance under load (graceful shutdown: it must
                  exit 0 within 30 s, answering what it admitted), start it again
  kill-relay      SIGKILL the relay, start it again
  restart-redis   SIGKILL redis-server, start it again from its AOF
  restart-db      stop the database (PostgreSQL: immediate), start it again
  stall-relay     SIGSTOP the relay for --stall-seconds (a stalled consumer), SIGCONT
  pending-kill    SIGKILL the relay, let a second of coupons pile up, lock the
                  coupons table, start a relay (it reads the backlog into its
                  pending list; its INSERT waits on the lock), SIGKILL it,
                  release the lock, start a new relay (which must reclaim the
                  dead one's pending entries)

With --kafka the stack is the seed's: a broker (tansu, harness.servers.Kafka)
between the relay (`relay --kafka`) and two `coupongate consume` processes
that write the database, and the faults are taken from:

  kill-relay      as above
  kill-consumer   SIGKILL a consumer, start it again
  rebalance       a third consumer joins mid-drop, then one leaves (SIGTERM)
  stall-broker    SIGSTOP the broker for --stall-seconds, SIGCONT
  restart-broker  SIGKILL the broker and start it again: with memory storage
                  its topic and offsets are gone, so the round then runs
                  `reconcile --repair`, which restores the rows still missing
                  from Redis's winners
  poison-record   put a record that is not a coupon event on the topic: it must
                  reach the dead-letter topic with its reason, the rest unaffected

After the round the pipeline drains (reconcile reports nothing in flight;
a relay that exited meanwhile is started again, as its supervisor would)
and the round is checked: every 200 a client received has its database row
with the same sequence; no user has two rows; rows <= limit; sequences are
1..rows with no gap; a row without a 200 belongs to an answer lost in flight,
and a retry must answer 409 with that coupon. One line per round, a total,
and exit 1 on any violation.

Usage: python3 -m checks.chaos PATH_TO_COUPONGATE [--rounds N] [--round-seconds S] [--stall-seconds S]
                [--rate R] [--faults F,F…] [--database postgres|mysql] [--kafka]
  The test command runs the short form (one round per fault); by hand:
  python3 -m checks.chaos .build/debug/coupongate --rounds 50
  python3 -m checks.chaos .build/debug/coupongate --kafka --database mysql --rounds 30
"""
import argparse
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness.api import apply_again, create_campaign, parse_apply
from harness.invariants import answer_violations, row_violations
from harness.net import free_port, request
from harness.processes import Coupongate
from harness.relay import drain
from harness.servers import Database, Kafka, Redis

FAULTS = ["kill-api", "kill-relay", "restart-redis", "restart-db", "stall-relay", "pending-kill", "sigterm-api"]
KAFKA_FAULTS = ["kill-relay", "kill-consumer", "rebalance", "stall-broker", "restart-broker", "poison-record"]
TOPIC = "coupon_create"
TOKEN = "chaos-suite-admin-token-0123"
CLIENTS = 8
# Every user applies twice, every seventh a third time: 2 1/7 requests per user.
REQUESTS_PER_USER = 15 / 7


class Stack:
    """The distributed stack: Redis, the database, two API instances and a relay; with `kafka`
    also a broker, the relay writing to it, and two consumers writing the database."""

    def __init__(self, state, database, kafka=False, kafka_tls=None):
        """kafka_tls: (certificate, key, CA) PEM files: the broker is reached over TLS (harness.servers.Kafka's
        TLS listener), and the relay and the consumers trust the CA (--kafka-ca-file)."""
        self.state = state
        self.database = Database(database, state).start()
        self.redis = Redis(state).start()
        self.kafka = Kafka(state, tls=kafka_tls[:2] if kafka_tls else None).start() if kafka else None
        self.kafka_flags = (["--kafka", self.kafka.bootstrap] if kafka else []) + (["--kafka-ca-file", kafka_tls[2]] if kafka_tls else [])
        self.common = ["--redis", self.redis.url, *self.database.flag]
        self.apis = []
        for _ in range(2):
            self.apis.append(self.start_api())
        self.relay = self.start_relay()
        self.consumers = [self.start_consumer() for _ in range(2)] if kafka else []
        self.spare = []  # processes replaced during rounds, stopped at the end
        self.relay_restarts = 0  # relays that exited on their own and were started again

    def start_api(self, port=0):
        # info: the start-up line names the port.
        return Coupongate("serve", "--port", str(port), "--admin-token", TOKEN, "--log-level", "info", *self.common).start()

    def start_relay(self):
        return Coupongate("relay", "--claim-after", "2", "--log-level", "info", *self.common, *self.kafka_flags,
                          announces_port=False).start()

    def start_consumer(self):
        """A `coupongate consume`; its /metrics port is its `metrics_port`."""
        port = free_port()
        consumer = Coupongate("consume", *self.kafka_flags, *self.database.flag, "--log-level", "info",
                              "--metrics-port", str(port), announces_port=False).start()
        consumer.metrics_port = port
        return consumer

    def pending(self):
        """Outbox entries read by a relay and not acknowledged, over every campaign."""
        total = 0
        for key in self.redis.cli("--scan", "--pattern", "{c:*}:outbox").split():
            out = self.redis.cli("XPENDING", key, "relay").split()
            if out and out[0].isdigit():
                total += int(out[0])
        return total

    def supervise(self):
        """A supervisor's job: a relay that exited (its watchdog ends it when a database write
        hangs past every deadline) is started again; its batch is reclaimed by the new one."""
        if self.relay.process.poll() is not None:
            self.spare.append(self.relay)
            self.relay = self.start_relay()
            self.relay_restarts += 1
        for index, consumer in enumerate(self.consumers):
            if consumer.process.poll() is not None:
                self.spare.append(consumer)
                self.consumers[index] = self.start_consumer()

    def stop(self):
        for process in self.apis + [self.relay] + self.consumers + self.spare:
            if process.process and process.process.poll() is None:
                process.kill(signal.SIGTERM)
        if self.redis.process and self.redis.process.poll() is None:
            self.redis.kill()
        if self.kafka:
            self.kafka.stop()
        self.database.stop()


def inject(stack, fault, stall_seconds):
    if fault == "kill-api":
        victim = stack.apis[1]
        victim.kill()
        time.sleep(0.5)
        stack.spare.append(victim)
        stack.apis[1] = stack.start_api(victim.port)  # same port: its clients come back
    elif fault == "sigterm-api":
        victim = stack.apis[1]
        started = time.time()
        status = victim.kill(signal.SIGTERM)
        stack.spare.append(victim)
        stack.apis[1] = stack.start_api(victim.port)
        if status != 0:
            return f"VIOLATION: after SIGTERM the instance ended with {status}, not exit 0"
        return f"exited 0 in {time.time() - started:.1f} s"
    elif fault == "kill-relay":
        stack.relay.kill()
        stack.spare.append(stack.relay)
        time.sleep(0.5)
        stack.relay = stack.start_relay()
    elif fault == "restart-redis":
        stack.redis.kill()
        time.sleep(0.5)
        stack.redis.start()
    elif fault == "restart-db":
        stack.database.halt()
        time.sleep(1)
        stack.database.resume()
    elif fault == "stall-relay":
        stack.relay.process.send_signal(signal.SIGSTOP)
        time.sleep(stall_seconds)
        stack.relay.process.send_signal(signal.SIGCONT)
    elif fault == "pending-kill":
        # With the relay gone a second, coupons pile up in the outbox. A new relay reads them
        # all into its pending list, and its INSERT waits on a table lock held meanwhile, so it
        # dies holding them; the next relay must reclaim them (XAUTOCLAIM).
        stack.relay.kill()
        stack.spare.append(stack.relay)
        time.sleep(1)
        lock = stack.database.lock_coupons()
        stack.relay = stack.start_relay()
        deadline = time.time() + 10
        while stack.pending() == 0 and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        held = stack.pending()
        stack.relay.kill()
        stack.spare.append(stack.relay)
        stack.database.release(lock)
        stack.relay = stack.start_relay()
        return f"{held} pending at the kill"
    elif fault == "kill-consumer":
        victim = stack.consumers[0]
        victim.kill()
        stack.spare.append(victim)
        time.sleep(0.5)
        stack.consumers[0] = stack.start_consumer()
    elif fault == "rebalance":
        stack.consumers.append(stack.start_consumer())
        time.sleep(2)
        leaving = stack.consumers.pop(0)
        status = leaving.kill(signal.SIGTERM)
        stack.spare.append(leaving)
        if status != 0:
            return f"VIOLATION: a consumer leaving its group on SIGTERM ended with {status}, not exit 0"
        return "a consumer joined, one left (exit 0)"
    elif fault == "stall-broker":
        stack.kafka.pause()
        time.sleep(stall_seconds)
        stack.kafka.resume()
    elif fault == "restart-broker":
        stack.kafka.kill()
        time.sleep(0.5)
        stack.kafka.start()
    elif fault == "poison-record":
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": stack.kafka.bootstrap})
        producer.produce(TOPIC, key=b"poison", value=b"not a coupon event")
        producer.flush(10)
    return ""


def dead_letter_note(stack):
    """After a poison-record round: the poison record must be on the dead-letter topic with a reason."""
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": stack.kafka.bootstrap, "group.id": f"chaos-dlq-{time.time()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([f"{TOPIC}.dlq"])
    deadline = time.time() + 30
    try:
        while time.time() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() or message.key() != b"poison":
                continue
            reason = dict(message.headers() or []).get("coupongate.reason", b"").decode()
            if not reason:
                return "VIOLATION: the dead letter carries no coupongate.reason header"
            return f"dead letter: {reason[:60]}"
    finally:
        consumer.close()
    return "VIOLATION: the poison record did not reach the dead-letter topic within 30 s"


def drop(stack, campaign, limit, rate, seconds, fault, stall_seconds):
    """Runs one round's drop, paced at `rate` requests/s, with `fault` in the middle;
    returns the answers and a note."""
    answers = []  # (user, status, sequence or None)
    lock = threading.Lock()
    stop = threading.Event()
    pause = CLIENTS / rate
    users = list(range(1, limit * 3 + 1))
    random.shuffle(users)
    path = f"/campaigns/{campaign}/apply?userId="

    def client(index):
        mine = users[index::CLIENTS]
        position = 0
        while not stop.is_set() and position < len(mine):
            user = mine[position]
            position += 1
            attempts = 3 if user % 7 == 0 else 2  # duplicates: every user twice, some three times
            for attempt in range(attempts):
                api = stack.apis[(index + attempt) % 2]
                try:
                    status, _, body = request(api.port, "POST", path + str(user), timeout=5)
                except OSError:
                    status, body = 0, b""
                sequence = parse_apply(status, body)[0] if status == 200 else None
                with lock:
                    answers.append((user, status, sequence))
                time.sleep(pause)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 2)
    note = inject(stack, fault, stall_seconds)
    time.sleep(seconds / 2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return answers, note


def drained_rows(stack, campaign, repair=False):
    """The campaign's rows [(user, sequence)] once the relay has drained, or None (then printing
    what reconcile said last and the relay's last lines). With `repair` (the broker lost its
    topic), whatever arrives within 20 s is waited for, then `reconcile --repair` writes the rest."""
    if repair:
        drain(Coupongate.binary, stack.common, stack.database, [campaign], timeout=20, supervise=stack.supervise)
        subprocess.run([Coupongate.binary, "reconcile", "--campaign", campaign, "--repair", *stack.common],
                       capture_output=True, text=True)
    rows, undrained = drain(Coupongate.binary, stack.common, stack.database, [campaign], supervise=stack.supervise)
    if not undrained:
        return rows[campaign]
    print(f"      reconcile ({undrained[campaign]})", flush=True)
    print("      the relay's last lines:\n" + "".join(list(stack.relay.tail)[-30:]), flush=True)
    for consumer in stack.consumers:
        print("      a consumer's last lines:\n" + "".join(list(consumer.tail)[-15:]), flush=True)
    return None


def violations_of(stack, campaign, limit, answers, rows):
    problems, winners = answer_violations(((user, status, (sequence, None), None) for user, status, sequence in answers),
                                          allowed={409, 422, 503, 0})
    if rows is None:
        return problems + ["the outbox did not drain within 120 s (reconcile)"]

    def retry(user):
        return apply_again(stack.apis[0].port, f"/campaigns/{campaign}/apply?userId={user}")

    return problems + row_violations(rows, limit, winners, retry)


def main():
    parser = argparse.ArgumentParser(prog="python3 -m checks.chaos")
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, help="default: one per fault")
    parser.add_argument("--round-seconds", type=float, default=4.0)
    parser.add_argument("--stall-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=600, help="requests per second over all clients")
    parser.add_argument("--faults", help="the faults to take in turn, comma-separated (default: every one of the mode)")
    parser.add_argument("--database", default="postgres", choices=Database.KINDS, help="the database of record")
    parser.add_argument("--kafka", action="store_true", help="the seed's stack: relay --kafka, a broker, two consumers")
    options = parser.parse_args()
    known = KAFKA_FAULTS if options.kafka else FAULTS
    options.faults = options.faults or ",".join(known)
    if options.rounds is None:
        options.rounds = len(options.faults.split(","))
    unknown = set(options.faults.split(",")) - set(known)
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(sorted(unknown))}; known{' with --kafka' if options.kafka else ''}: {', '.join(known)}")
    if options.kafka:
        Kafka.ensure_client()
    # Sold out near the round's end, so the fault (at half time) hits a drop still issuing.
    limit = max(10, int(options.rate / REQUESTS_PER_USER * options.round_seconds * 0.8))
    Coupongate.binary = options.binary

    state = tempfile.mkdtemp(prefix="cg-chaos-")
    stack = Stack(state, options.database, kafka=options.kafka)
    print(f"database of record: {stack.database.name}{', through Kafka (tansu)' if options.kafka else ''}", flush=True)
    totals = {"requests": 0, "200s": 0, "rows": 0, "violations": 0}
    try:
        print(f"{'round':>5} {'fault':<14} {'requests':>8} {'200s':>6} {'rows':>6} {'violations':>10}  note", flush=True)
        for number in range(1, options.rounds + 1):
            faults = options.faults.split(",")
            fault = faults[(number - 1) % len(faults)]
            campaign = f"chaos-{number}"
            create_campaign(stack.apis[0].port, TOKEN, campaign, limit)
            answers, note = drop(stack, campaign, limit, options.rate, options.round_seconds, fault, options.stall_seconds)
            restarts = stack.relay_restarts
            rows = drained_rows(stack, campaign, repair=fault == "restart-broker")
            if fault == "poison-record":
                note = dead_letter_note(stack)
            if stack.relay_restarts > restarts:
                note = (note + "; " if note else "") + "relay exited (watchdog) and was restarted"
            problems = violations_of(stack, campaign, limit, answers, rows)
            if note.startswith("VIOLATION"):
                problems.append(note)
            twos = sum(1 for a in answers if a[1] == 200)
            row_count = len(rows) if rows is not None else -1
            print(f"{number:>5} {fault:<14} {len(answers):>8} {twos:>6} {row_count:>6} {len(problems):>10}  {note}", flush=True)
            for problem in problems[:10]:
                print(f"      VIOLATION {problem}", flush=True)
            totals["requests"] += len(answers)
            totals["200s"] += twos
            totals["rows"] += max(row_count, 0)
            totals["violations"] += len(problems)
        print(f"total: {options.rounds} rounds, {totals['requests']} requests, {totals['200s']} answered 200, "
              f"{totals['rows']} rows, {totals['violations']} violations", flush=True)
    finally:
        stack.stop()
        subprocess.run(["rm", "-rf", state])
    sys.exit(1 if totals["violations"] else 0)


if __name__ == "__main__":
    main()
