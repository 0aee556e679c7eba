"""Fault rounds against the real distributed stack, as an operator runs it.

Starts on loopback: redis-server (AOF, appendfsync always), a throwaway
database of record (PostgreSQL by servers/postgres-server.sh, or with
--database mysql MariaDB by servers/mariadb-server.sh), two `coupongate serve`
instances and one `coupongate relay` process. Clients apply on both instances
(every user twice, on alternating instances) while, one round each, the relay
is SIGKILLed and restarted, the database is stopped and started, and Redis is killed and
restarted from its AOF. Then it waits for the pipeline to drain and checks:
every 200 has its row (same user, same sequence); no user has two rows; rows
<= limit; each row not answered 200 belongs to an apply whose answer was lost
in flight, and a retry returns 409 with that coupon; sequences are 1..issued;
while Redis was down, applies answered 503 with Retry-After in under 2 s.

Usage: python3 -m checks.distributed_smoke PATH_TO_COUPONGATE [--seconds-per-round N] [--database postgres|mysql]
"""
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness.checks import Checks
from harness.api import apply_again, parse_apply
from harness.invariants import answer_violations, row_violations
from harness.net import free_port, metric_values, request
from harness.processes import Coupongate
from harness.relay import drain
from harness.servers import Database, Redis

BINARY = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/coupongate"
Coupongate.binary = BINARY
ROUND_SECONDS = float(sys.argv[sys.argv.index("--seconds-per-round") + 1]) if "--seconds-per-round" in sys.argv else 2.0
DATABASE = sys.argv[sys.argv.index("--database") + 1] if "--database" in sys.argv else "postgres"
TOKEN = "distributed-smoke-admin-token"
LIMIT = 1_000_000
check = Checks(f"distributed smoke ({DATABASE})")


def main():
    state = tempfile.mkdtemp(prefix="cg-dist-")
    database = Database(DATABASE, state).start()
    redis = Redis(state).start()
    common = ["--redis", redis.url, *database.flag]
    apis = [Coupongate("serve", "--port", "0", "--admin-token", TOKEN, "--default-limit", str(LIMIT), "--log-level", "info", *common).start()
            for _ in range(2)]
    relay_metrics_port = free_port()
    relay_args = ["relay", "--claim-after", "2", "--log-level", "warning", "--metrics-port", str(relay_metrics_port), *common]
    relay = Coupongate(*relay_args, announces_port=False).start()
    processes = apis + [relay]

    answers = []  # (user, status, body, seconds, retry_after)
    lock = threading.Lock()
    stop = threading.Event()
    next_user = [0]

    def client(index):
        while not stop.is_set():
            with lock:
                next_user[0] += 1
                user = next_user[0]
            for attempt in range(2):  # every user applies twice, on alternating instances
                api = apis[(index + attempt) % 2]
                started = time.time()
                try:
                    status, headers, body = request(api.port, "POST", f"/coupon/apply?userId={user}")
                except OSError:
                    status, headers, body = 0, {}, b""
                with lock:
                    answers.append((user, status, body, time.time() - started, headers.get("Retry-After")))

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()

        print("distributed smoke: round 1, relay SIGKILLed mid-drop, then restarted", flush=True)
        time.sleep(ROUND_SECONDS / 2)
        relay.kill()
        time.sleep(ROUND_SECONDS / 2)
        relay = Coupongate(*relay_args, announces_port=False).start()
        processes.append(relay)

        print(f"distributed smoke: round 2, {database.name} stopped mid-drop, then started", flush=True)
        database.halt()
        time.sleep(ROUND_SECONDS)
        database.resume()

        print("distributed smoke: round 3, Redis killed mid-drop, then restarted from its AOF", flush=True)
        time.sleep(ROUND_SECONDS / 2)
        with lock:
            before_outage = len(answers)
        redis.kill()
        outage_started = time.time()
        time.sleep(ROUND_SECONDS / 2)
        with lock:
            during = [a for a in answers[before_outage:]]
        redis.start()
        outage = time.time() - outage_started
        time.sleep(ROUND_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

        unavailable = [a for a in during if a[1] == 503]
        check(len(unavailable) > 0, "applies while Redis was down answered 503")
        check(all(a[3] < 2.0 for a in unavailable), f"every 503 came within 2 s (slowest {max((a[3] for a in unavailable), default=0):.2f} s)")
        check(all(a[4] is not None for a in unavailable), "every 503 carries Retry-After")
        problems, winners = answer_violations(
            ((user, status, parse_apply(status, body)[:2], None) for user, status, body, _, _ in answers),
            allowed={409, 503, 0})
        check(not problems, f"only 200, 409 or 503 answers, no user 200 twice: {problems[:5]}")
        print(f"  {len(answers)} answers, {len(winners)} issued, Redis down {outage:.1f} s", flush=True)

        check(relay.process.poll() is None, f"the restarted relay is still running (it waits for {database.name} and Redis rather than exit)")
        print("distributed smoke: waiting for the relay to drain", flush=True)
        rows, undrained = drain(BINARY, common, database, ["default"], timeout=90)
        check(not undrained, f"reconcile finds the database consistent with Redis:\n{undrained.get('default', '')}")

        # An answer lost in flight: a retry must learn the coupon.
        problems = row_violations(rows["default"], LIMIT, winners, lambda user: apply_again(apis[0].port, f"/coupon/apply?userId={user}"))
        check(not problems, "every 200 has its row with its sequence, no user two rows, rows <= limit, sequences "
              f"1..issued, a row without a 200 answers 409 with it: {len(problems)} violations, e.g. {problems[:5]}")
        extra = sum(1 for user, _ in rows["default"] if user not in winners)
        print(f"  {len(rows['default'])} rows, {extra} from answers lost in flight", flush=True)

        # The distributed-mode metrics: the API's (gate, Redis, backlog) and the relay's own.
        api = metric_values(apis[0].port)
        check(api.get('coupongate_redis_call_duration_seconds_count{command="issue"}', 0) > 0, "the API times its Redis calls")
        check(api.get("coupongate_redis_errors_total", 0) > 0, "the API counted the Redis calls that failed while Redis was down")
        check(api.get("coupongate_relay_pending") == 0, f"the API sees no backlog once drained: {api.get('coupongate_relay_pending')}")
        check("coupongate_relay_lag_seconds" in api, "the API reports the relay lag")
        relay_metrics = metric_values(relay_metrics_port)
        check(relay_metrics.get("coupongate_relay_batch_size_count", 0) > 0, "the relay counts its batches")
        check(relay_metrics.get("coupongate_relay_insert_duration_seconds_count", 0) > 0, "the relay times its inserts")
        check(relay_metrics.get("coupongate_relay_pending") == 0, "the relay sees no backlog once drained")
    finally:
        stop.set()
        for process in processes:
            if process.process and process.process.poll() is None:
                process.kill(signal.SIGTERM)
        if redis.process and redis.process.poll() is None:
            redis.kill()
        database.stop()
        subprocess.run(["rm", "-rf", state])

    check.finish()


if __name__ == "__main__":
    main()
