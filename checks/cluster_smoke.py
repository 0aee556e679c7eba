"""Scale-out rounds: many campaigns dropped at once through nginx in front of several instances,
on a Redis Cluster, with the invariants of DESIGN.md §1 checked per campaign.

Starts the stack of harness/scale.py (Redis Cluster of 3 masters with a replica each,
PostgreSQL, 3 `coupongate serve` instances, 2 relays, nginx with deploy/nginx/'s configuration),
then per round creates --campaigns campaigns through nginx and drops on all of them at once:
client threads, paced at --rate requests/s in all, every user applying twice, more users than
coupons, each campaign selling out near the round's end. Then it waits until the relays have
drained (`coupongate reconcile` reports nothing in flight for every campaign) and checks each
campaign: every 200 has its row with its sequence; no user has two rows; rows <= limit;
sequences are 1..rows with no gap; a row without a 200 (an answer lost in flight) answers 409
with that coupon on a retry.

  a  plain: only 200, 409 and 422 answers
  b  reshard: half the campaigns live in the slots that `redis-cli --cluster reshard` moves to
     another master and back, again and again during the drop: still only 200, 409 and 422,
     no answer slower than --max-latency
  c  failover: the instances restarted with --redis-wait-replicas 1 (one at a time, through
     nginx); the master holding most campaigns is SIGKILLed early in the drop, its replica
     promoted, the old master started again (it rejoins as a replica), and the drop goes on
     after that (it lasts 3 x --seconds, at least 18 s): 503 with Retry-After allowed
     meanwhile; every 200 has its row
  d  idempotency: every apply carries an Idempotency-Key (one per user), every user applies
     twice with it: both answers agree (200 and the same coupon twice, never 409); afterwards
     the same key and user again answers 200 with that coupon, the same key with another user
     422 idempotency-key-reused, and three concurrent requests with one key get one coupon

One line per round, a total, exit 1 on any violation. With --single-redis the stack has one
plain redis-server (--redis URL) instead of the cluster; rounds b and c need the cluster and are
skipped.

--bench instead measures throughput: wrk (installed with apt-get if missing) applies through
nginx to --campaigns campaigns at once (every request a new user, limits high enough that every
apply wins), then to one hot campaign, --bench-seconds each; prints applies/s, latency and the
CPU seconds each process used (from /proc: redis-servers, instances, relays, nginx, PostgreSQL,
wrk). --compare measures one redis-server, then the cluster, in the same run, and prints the ratios.

Usage: python3 -m checks.cluster_smoke BINARY [--campaigns 30] [--limit L] [--seconds S] [--rate R] [--rounds a,b,c,d]
                                        [--single-redis] [--bench [--compare] [--bench-seconds 10] [--connections 64]]
"""
import argparse
import collections
import http.client
import os
import random
import re
import resource
import subprocess
import sys
import threading
import time

from harness import REPO
from harness.api import apply_again, create_campaign, parse_apply
from harness.cpu import cpu_seconds
from harness.invariants import answer_violations, row_violations
from harness.net import request
from harness.packages import ensure_installed
from harness.processes import Coupongate
from harness.redis_cluster import campaign_slot
from harness.relay import drain
from harness.scale import ScaleStack, documented_conf_is_current

WRK_SCRIPT = os.path.join(REPO, "bench", "coupongate.lua")

CLIENTS = 24
REQUESTS_PER_USER = 2
ROUNDS = {"a": "plain", "b": "reshard", "c": "failover", "d": "idempotency"}
CLUSTER_ROUNDS = {"b", "c"}


# --- campaigns and the drop ------------------------------------------------------------------------

def create_campaigns(stack, ids, limit):
    for campaign in ids:
        create_campaign(stack.port, stack.token, campaign, limit)


Answer = collections.namedtuple("Answer", "campaign user attempt status sequence issued_at kind seconds retry_after rid")


class Client:
    """One keep-alive connection to nginx; a failed request answers status 0."""

    def __init__(self, port):
        self.port, self.connection = port, None

    def post(self, path, headers):
        started = time.time()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.connection.request("POST", path, headers=headers)
            response = self.connection.getresponse()
            body = response.read()
            status, retry_after = response.status, response.getheader("Retry-After")
        except (OSError, http.client.HTTPException):
            if self.connection:
                self.connection.close()
            self.connection = None
            status, retry_after, body = 0, None, b""
        return status, body, retry_after, time.time() - started


class Drop:
    """A drop on many campaigns at once through nginx: CLIENTS threads take users from all the
    campaigns in turn, every user applying REQUESTS_PER_USER times; requests are paced at `rate`
    per second over all threads. Runs until `seconds` passed or every user applied."""

    def __init__(self, stack, tag, campaigns, limit, rate, seconds, keys=False):
        self.stack, self.tag, self.rate, self.seconds, self.keys = stack, tag, rate, seconds, keys
        queues = []
        for campaign in campaigns:
            users = list(range(1, limit * 3 + 1))
            random.shuffle(users)
            queues.append([(campaign, user) for user in users])
        # All campaigns at once: their users interleaved.
        self.work = [item for group in zip(*queues) for item in group]
        self.answers, self.lock, self.stop = [], threading.Lock(), threading.Event()
        self.next_work, self.next_slot = 0, 0
        self.threads = []

    def elapsed(self):
        return time.time() - self.started

    def start(self):
        self.started = time.time()
        self.threads = [threading.Thread(target=self.client) for _ in range(CLIENTS)]
        for thread in self.threads:
            thread.start()
        return self

    def client(self):
        client = Client(self.stack.port)
        while not self.stop.is_set():
            with self.lock:
                if self.next_work >= len(self.work):
                    return
                campaign, user = self.work[self.next_work]
                self.next_work += 1
            for attempt in range(REQUESTS_PER_USER):
                with self.lock:
                    slot = self.next_slot
                    self.next_slot += 1
                delay = self.started + slot / self.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                if self.elapsed() > self.seconds:
                    self.stop.set()
                    return
                rid = f"{self.tag}-{campaign}-{user}-{attempt}"
                headers = {"X-Request-Id": rid}
                if self.keys:
                    headers["Idempotency-Key"] = f"key-{campaign}-{user}"
                status, body, retry_after, seconds = client.post(f"/campaigns/{campaign}/apply?userId={user}", headers)
                sequence, issued_at, kind = parse_apply(status, body)
                with self.lock:
                    self.answers.append(Answer(campaign, user, attempt, status, sequence, issued_at, kind, seconds, retry_after, rid))

    def wait(self):
        """Until the drop's time is up (or its users are done); returns the answers."""
        for thread in self.threads:
            thread.join(timeout=max(1, self.seconds - self.elapsed()) + 60)
        self.stop.set()
        return self.answers


# --- after the drop ---------------------------------------------------------------------------------

class Supervisor:
    """Starts a relay again when it exited (as its supervisor would); counts the restarts."""

    def __init__(self, stack):
        self.stack, self.restarts = stack, 0

    def check(self):
        for index, relay in enumerate(self.stack.relays):
            if relay.process.poll() is not None:
                self.stack.spare.append(relay)
                self.stack.relays[index] = self.stack.start_relay()
                self.restarts += 1


def drained(stack, campaigns, supervisor, timeout=180):
    """harness.relay.drain on the stack, its relays supervised: ({campaign: rows}, {campaign: what
    reconcile said last, for those that did not drain})."""
    return drain(stack.binary, stack.common, stack.database, campaigns, timeout, supervise=supervisor.check)


def violations_of(stack, campaign, limit, answers, rows, allowed, same_key=False):
    """The invariants of one campaign (harness.invariants); `allowed`: the statuses a client may
    see besides 200. `same_key`: every repeat carried the user's key, so a user may get 200 more
    than once, always with the same coupon."""
    problems, winners = answer_violations(
        ((a.user, a.status, (a.sequence, a.issued_at), a.kind or "no problem type") for a in answers), allowed, same_key)
    problems += [f"user {a.user} got 503 without Retry-After" for a in answers
                 if a.status == 503 and a.status in allowed and a.retry_after is None]

    problems += row_violations(rows, limit, winners, lambda user: apply_again(stack.port, f"/campaigns/{campaign}/apply?userId={user}"))
    return [f"{campaign}: {problem}" for problem in problems]


def upstream_spread(stack, tag):
    """How many of a round's requests (request ids starting with tag-) each instance answered,
    from nginx's access log."""
    counts = collections.Counter()
    path = os.path.join(stack.nginx.directory, "access.log")
    if not os.path.exists(path):
        return counts
    for line in open(path):
        if f"rid={tag}-" in line:
            match = re.search(r"upstream=(\S+)", line)
            if match:
                counts[match.group(1).split(",")[-1].strip()] += 1
    return counts


def latency(answers):
    seconds = sorted(a.seconds for a in answers) or [0]
    return seconds[int(len(seconds) * 0.99) - 1 if len(seconds) > 1 else 0] * 1000, seconds[-1] * 1000


# --- the rounds -------------------------------------------------------------------------------------

def ids_in_slots(prefix, count, slots, inside):
    """`count` campaign ids prefix-N whose slot is (inside=True) or is not in `slots`."""
    found, n = [], 0
    while len(found) < count:
        campaign = f"{prefix}-{n}"
        if (campaign_slot(campaign) in slots) == inside:
            found.append(campaign)
        n += 1
    return found


def round_reshard(stack, options):
    """Campaigns half in the lowest --reshard-slots slots of the master owning slot 0 (the ones
    redis-cli moves), half elsewhere; during the drop those slots move to the next master and
    back, again and again."""
    owners = {port: ranges for port, ranges in stack.redis.slot_ranges().items() if ranges}
    by_first = sorted(owners, key=lambda port: min(first for first, _ in owners[port]))
    source, target = by_first[0], by_first[1]
    moving = []
    for first, last in owners[source]:
        moving.extend(range(first, last + 1))
    moving = set(moving[:options.reshard_slots])
    half = options.campaigns // 2
    campaigns = ids_in_slots("b", half, moving, True) + ids_in_slots("b-other", options.campaigns - half, moving, False)
    return campaigns, source, target, moving


def reshard_during(cluster, drop, source, target, moving, campaigns, seconds, note, problems):
    """Round b's fault: from 20 % to 80 % of the drop, `moving` (the lowest slots of the master
    on `source`) moves to `target` and back, again and again."""
    moves = 0
    time.sleep(seconds * 0.2)
    while drop.elapsed() < seconds * 0.8 and not drop.stop.is_set():
        try:
            cluster.reshard(*((source, target) if moves % 2 == 0 else (target, source)), len(moving))
            moves += 1
        except RuntimeError as error:
            problems.append(f"reshard failed: {error}")
            break
    try:
        cluster.wait_ok()
    except RuntimeError as error:
        problems.append(f"after the reshards: {error}")
    note.append(f"{len(moving)} slots moved {moves} times between masters {source} and {target} "
                f"({sum(1 for c in campaigns if campaign_slot(c) in moving)} campaigns in them)")


def failover(cluster, drop, campaigns, note, problems):
    """Round c's fault: SIGKILL the master that holds most of the campaigns, wait until a replica
    has taken its slots over, start it again (it rejoins as a replica) and wait until it is in
    sync."""
    ranges = cluster.slot_ranges()
    owners = collections.Counter(cluster.owner_of(campaign_slot(c), ranges) for c in campaigns)
    victim, held = owners.most_common(1)[0]
    probe_slot = next(campaign_slot(c) for c in campaigns if cluster.owner_of(campaign_slot(c), ranges) == victim)
    masters = cluster.masters_now()
    killed_at = time.time()
    cluster.kill_master(masters.index(victim) + 1)
    try:
        deadline = time.time() + 30
        while cluster.owner_of(probe_slot) in (None, victim):
            if time.time() > deadline:
                raise RuntimeError("no replica was promoted within 30 s")
            time.sleep(0.1)
        cluster.wait_ok()
        promoted = time.time() - killed_at
        cluster.revive(victim)
        cluster.wait_ok()
        back = time.time() - killed_at
        note.append(f"master {victim} ({held} campaigns) killed at {killed_at - drop.started:.1f} s, "
                    f"replica {cluster.owner_of(probe_slot)} promoted after {promoted:.1f} s, "
                    f"old master a replica again after {back:.1f} s")
    except RuntimeError as error:
        problems.append(f"failover: {error}")


def round_seconds(options, letter):
    """A round's drop length: round c's covers the kill, the promotion (about 5 s), the old
    master's return as a replica (about 6 s more) and some time after."""
    return max(3 * options.seconds, 18.0) if letter == "c" else options.seconds


def round_limit(options, letter):
    """--limit, or a limit that sells the campaigns out near the end of the round's drop."""
    if options.limit:
        return options.limit
    return max(5, int(options.rate / REQUESTS_PER_USER * round_seconds(options, letter) * 0.8 / options.campaigns))


def run_round(stack, letter, options, supervisor):
    """Runs one round; returns (answers, rows, problems, note)."""
    limit, seconds = round_limit(options, letter), round_seconds(options, letter)
    note, problems = [], []
    allowed, keys = {409, 422}, False
    if letter == "b":
        campaigns, source, target, moving = round_reshard(stack, options)
    else:
        campaigns = [f"{letter}-{n:02d}" for n in range(1, options.campaigns + 1)]
    if letter == "c":
        stack.restart_apis(redis_wait_replicas=1)
        allowed = {409, 422, 503}
        note.append("instances restarted with --redis-wait-replicas 1")
    if letter == "d":
        keys = True
    create_campaigns(stack, campaigns, limit)
    drop = Drop(stack, letter, campaigns, limit, options.rate, seconds, keys=keys).start()

    if letter == "b":
        reshard_during(stack.redis, drop, source, target, moving, campaigns, options.seconds, note, problems)
    elif letter == "c":
        time.sleep(seconds / 6)
        failover(stack.redis, drop, campaigns, note, problems)
        # Some of the drop after the cluster is whole again, however long that took.
        drop.seconds = max(drop.seconds, drop.elapsed() + options.seconds / 2)
    answers = drop.wait()

    if letter == "d":
        problems += idempotency_checks(stack, campaigns, answers, note)
    restarts = supervisor.restarts
    rows, undrained = drained(stack, campaigns, supervisor)
    if supervisor.restarts > restarts:
        note.append(f"{supervisor.restarts - restarts} relay(s) exited and were started again")
    for campaign, said in undrained.items():
        problems.append(f"{campaign}: the outbox did not drain (reconcile {said.strip()[:500]})")
    by_campaign = collections.defaultdict(list)
    for answer in answers:
        by_campaign[answer.campaign].append(answer)
    for campaign in campaigns:
        if campaign in undrained:
            continue
        problems += violations_of(stack, campaign, limit, by_campaign[campaign], rows[campaign], allowed, same_key=keys)
    p99, slowest = latency(answers)
    if letter == "b" and slowest > options.max_latency * 1000:
        problems.append(f"an answer took {slowest / 1000:.1f} s during the reshard (bound {options.max_latency} s)")
    if letter == "c":
        unavailable = sum(1 for a in answers if a.status == 503)
        note.append(f"{unavailable} answered 503")
    spread = upstream_spread(stack, letter)
    if spread:
        note.append("instances answered " + "/".join(str(spread[k]) for k in sorted(spread)))
    if letter == "c":
        stack.restart_apis(redis_wait_replicas=options.redis_wait_replicas)
    return answers, rows, problems, "; ".join(note)


def idempotency_checks(stack, campaigns, answers, notes):
    """Round d's checks beyond the drop: both of a user's keyed answers agree; a later repeat with
    the key answers the original 200; the key with another user is refused; concurrent repeats
    get one coupon."""
    problems = []
    by_user = collections.defaultdict(list)
    for answer in answers:
        by_user[(answer.campaign, answer.user)].append(answer)
    winners = {}
    for (campaign, user), mine in by_user.items():
        statuses = [a.status for a in mine]
        if 409 in statuses:
            problems.append(f"{campaign}: user {user} repeated with its Idempotency-Key and got 409, not the original answer")
        twos = {(a.sequence, a.issued_at) for a in mine if a.status == 200}
        if len(twos) > 1:
            problems.append(f"{campaign}: user {user} got two different coupons for one key")
        if twos and len(mine) == REQUESTS_PER_USER and any(a.status != 200 for a in mine if a.attempt > 0):
            problems.append(f"{campaign}: user {user} won, and a repeat with its key answered {[a.status for a in mine]}")
        if twos:
            winners[(campaign, user)] = twos.pop()
    # Later repeats through nginx, several per key (so several instances answer them), for 20
    # winners of different campaigns.
    reuse_kinds = collections.Counter()
    one_each = {}
    for (campaign, user), coupon in sorted(winners.items()):
        one_each.setdefault(campaign, (user, coupon))
    for number, (campaign, (user, (sequence, issued_at))) in enumerate(sorted(one_each.items())[:20]):
        for repeat in range(3):
            status, _, body = request(stack.port, "POST", f"/campaigns/{campaign}/apply?userId={user}",
                                      headers={"Idempotency-Key": f"key-{campaign}-{user}", "X-Request-Id": f"d-repeat-{number}-{repeat}"})
            if status != 200 or parse_apply(status, body)[:2] != (sequence, issued_at):
                problems.append(f"{campaign}: user {user} repeated its key after the drop and got {status} {body[:200]!r}, not its 200")
        # The campaign is sold out by now: an instance may answer that from memory (422
        # sold-out) before it looks at the key; either 422 is right.
        status, _, body = request(stack.port, "POST", f"/campaigns/{campaign}/apply?userId={user + 1_000_000}",
                                  headers={"Idempotency-Key": f"key-{campaign}-{user}"})
        kind = parse_apply(status, body)[2]
        reuse_kinds[kind] += 1
        if status != 422 or kind not in ("idempotency-key-reused", "sold-out"):
            problems.append(f"{campaign}: user {user}'s key with another user answered {status} {body[:200]!r}, not 422")
    if not winners:
        problems.append("no winner to repeat")
    # Concurrent repeats: three requests with one key at once, for 20 users of a fresh campaign.
    campaign = "d-concurrent"
    create_campaigns(stack, [campaign], 1000)
    results = collections.defaultdict(list)

    def apply(user, copy):
        status, _, body = request(stack.port, "POST", f"/campaigns/{campaign}/apply?userId={user}",
                                  headers={"Idempotency-Key": f"concurrent-{user}", "X-Request-Id": f"d-concurrent-{user}-{copy}"})
        results[user].append((status, parse_apply(status, body)[:2]))

    threads = [threading.Thread(target=apply, args=(user, copy)) for user in range(1, 21) for copy in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for user, got in sorted(results.items()):
        if {status for status, _ in got} != {200} or len({coupon for _, coupon in got}) != 1:
            problems.append(f"{campaign}: three concurrent applies of user {user} with one key answered {got}")
    # A key reused by another user while the campaign still has coupons: 422 idempotency-key-reused.
    for user in range(1, 21):
        status, _, body = request(stack.port, "POST", f"/campaigns/{campaign}/apply?userId={user + 1_000_000}",
                                  headers={"Idempotency-Key": f"concurrent-{user}", "X-Request-Id": f"d-reuse-{user}"})
        if status != 422 or parse_apply(status, body)[2] != "idempotency-key-reused":
            problems.append(f"{campaign}: user {user}'s key with another user answered {status} {body[:200]!r}, not 422 idempotency-key-reused")
    rows, undrained = drained(stack, [campaign], Supervisor(stack))
    if undrained or sorted(s for _, s in rows[campaign]) != list(range(1, 21)):
        problems.append(f"{campaign}: 20 users with concurrent repeats left {len(rows[campaign])} rows, not 20 gapless")
    repeat_spread = collections.Counter()
    for line in (open(os.path.join(stack.nginx.directory, "access.log")) if stack.access_log else []):
        if "rid=d-repeat-" in line:
            repeat_spread[re.search(r"upstream=(\S+)", line).group(1)] += 1
    if stack.access_log and len(repeat_spread) < min(2, len(stack.apis)):
        problems.append(f"the repeats were all answered by one instance ({dict(repeat_spread)}): not a test across instances")
    notes.append("a winner's key with another user on a sold-out campaign: "
                 + ", ".join(f"{count} {kind}" for kind, count in sorted(reuse_kinds.items(), key=lambda kv: str(kv[0]))))
    return problems


def smoke(options):
    stack = ScaleStack(options.binary, single_redis=options.single_redis, redis_wait_replicas=options.redis_wait_replicas)
    totals = {"requests": 0, "200s": 0, "rows": 0, "violations": 0}
    try:
        stack.start()
        mode = "one redis-server" if options.single_redis else f"Redis Cluster, {stack.masters} masters x {stack.replicas} replica"
        print(f"cluster smoke: {mode}, {len(stack.apis)} instances, {len(stack.relays)} relays, nginx on {stack.url}; "
              f"{options.campaigns} campaigns per round, {options.rate:.0f} requests/s for {options.seconds:.0f} s "
              f"(round c {round_seconds(options, 'c'):.0f} s), limit {round_limit(options, 'a')} (round c {round_limit(options, 'c')})", flush=True)
        current = documented_conf_is_current()
        print(f"  deploy/nginx/coupongate-lb.conf is its template filled in with the example ports: {'yes' if current else 'NO'}", flush=True)
        if not current:
            totals["violations"] += 1
        supervisor = Supervisor(stack)
        print(f"{'round':<16} {'requests':>8} {'200s':>6} {'rows':>6} {'p99 ms':>7} {'max ms':>7} {'violations':>10}  note", flush=True)
        for letter in options.rounds.split(","):
            name = f"{letter} {ROUNDS[letter]}"
            if letter in CLUSTER_ROUNDS and options.single_redis:
                print(f"{name:<16} skipped: needs the Redis Cluster", flush=True)
                continue
            answers, rows, problems, note = run_round(stack, letter, options, supervisor)
            twos = sum(1 for a in answers if a.status == 200)
            row_count = sum(len(r) for r in rows.values())
            p99, slowest = latency(answers)
            print(f"{name:<16} {len(answers):>8} {twos:>6} {row_count:>6} {p99:>7.0f} {slowest:>7.0f} {len(problems):>10}  {note}", flush=True)
            for problem in problems[:10]:
                print(f"      VIOLATION {problem}", flush=True)
            if len(problems) > 10:
                print(f"      … and {len(problems) - 10} more", flush=True)
            totals["requests"] += len(answers)
            totals["200s"] += twos
            totals["rows"] += row_count
            totals["violations"] += len(problems)
        print(f"total: {totals['requests']} requests, {totals['200s']} answered 200, {totals['rows']} rows, "
              f"{totals['violations']} violations", flush=True)
    finally:
        stack.stop()
    sys.exit(1 if totals["violations"] else 0)


# --- the benchmark ----------------------------------------------------------------------------------

def cpu_snapshot(stack):
    """CPU seconds so far per process group, and per process for redis and the instances."""
    redis = {port: cpu_seconds(pid) for port, pid in stack.redis_pids().items()}
    snapshot = {"redis": redis,
                "serve": [cpu_seconds(api.process.pid) for api in stack.apis],
                "relay": [cpu_seconds(relay.process.pid) for relay in stack.relays],
                "nginx": cpu_seconds(*stack.nginx.pids())}
    if stack.database.kind == "postgres":
        # The postmaster's ended backends count too.
        snapshot["postgres"] = cpu_seconds(*stack.database.pids(), with_reaped_children=True)
    snapshot["wrk"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime
    return snapshot


def cpu_used(before, after):
    def delta(key):
        if isinstance(after[key], dict):
            return {k: after[key][k] - before[key].get(k, 0) for k in after[key]}
        if isinstance(after[key], list):
            return [a - b for a, b in zip(after[key], before[key])]
        return after[key] - before[key]
    return {key: delta(key) for key in after}


def describe_cpu(used, roles):
    redis = used["redis"]

    def of(role):
        return "+".join(f"{v:.1f}" for port, v in sorted(redis.items()) if roles.get(port) == role)
    if len(redis) > 1:
        split = f"masters {of('master')}, replicas {of('replica')}"
    else:
        split = "one node"
    parts = [f"redis-server {sum(redis.values()):.1f} ({split})",
             f"coupongate serve {sum(used['serve']):.1f} ({'/'.join(f'{v:.1f}' for v in used['serve'])})",
             f"relay {sum(used['relay']):.1f} ({'/'.join(f'{v:.1f}' for v in used['relay'])})",
             f"nginx {used['nginx']:.1f}"]
    if "postgres" in used:
        parts.append(f"postgres {used['postgres']:.1f}")
    parts.append(f"wrk {used['wrk']:.1f}")
    return ", ".join(parts)


def bench(options):
    """One stack's measurement; returns (failed, {label: applies/s})."""
    ensure_installed({"wrk": "wrk"})
    rates = {}
    # No access log: it would cost nginx a write per request.
    stack = ScaleStack(options.binary, single_redis=options.single_redis, access_log=False, nginx_workers=2)
    failed = False
    try:
        stack.start()
        mode = "one redis-server" if options.single_redis else f"Redis Cluster {stack.masters} masters x {stack.replicas} replica"
        print(f"cluster bench: {mode}, {len(stack.apis)} instances, {len(stack.relays)} relays, nginx (2 workers), "
              f"{os.cpu_count()} CPUs, wrk {options.connections} connections x {options.bench_seconds:.0f} s", flush=True)
        many = [f"bench-{n:02d}" for n in range(1, options.campaigns + 1)]
        create_campaigns(stack, many + ["bench-hot"], 100_000_000)
        measured = []
        roles = dict(stack.redis.nodes()) if not options.single_redis else {}
        for run, (label, campaigns) in enumerate([(f"{options.campaigns} campaigns", many), ("1 hot campaign", ["bench-hot"])], start=1):
            before = cpu_snapshot(stack)
            started = time.time()
            # bench/coupongate.lua's win mode: the campaigns in turn, every request a new user.
            paths = ",".join(f"/campaigns/{campaign}/apply" for campaign in campaigns)
            result = subprocess.run(["wrk", "-t", "2", "-c", str(options.connections), "-d", f"{options.bench_seconds:.0f}s",
                                     "-s", WRK_SCRIPT, stack.url, "--", "win", paths, str(run)],
                                    capture_output=True, text=True)
            wall = time.time() - started
            used = cpu_used(before, cpu_snapshot(stack))
            rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
            done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)\b", result.stdout)
            statuses = re.search(r"coupongate-check: .* statuses=(\S*)", result.stdout)
            lat = re.search(r"coupongate-check: .* p50_ms=([\d.]+) p99_ms=([\d.]+) max_ms=([\d.]+)", result.stdout)
            if result.returncode != 0 or not rate or not done or not statuses or not lat:
                print(f"  {label}: wrk failed (exit {result.returncode}):\n{result.stdout}{result.stderr}", flush=True)
                failed = True
                continue
            counts = dict(part.split(":") for part in statuses.group(1).split(",") if part != "none")
            wins = int(counts.get("200", 0))
            others = {k: v for k, v in counts.items() if k != "200"}
            measured += campaigns
            duration = float(done.group(2)) * {"ms": 0.001, "s": 1, "m": 60}[done.group(3)]
            rates[label] = wins / duration
            print(f"  {label}: {wins / duration:,.0f} applies/s answered 200 ({float(rate.group(1)):,.0f} req/s), "
                  f"p50 {float(lat.group(1)):.1f} ms, p99 {float(lat.group(2)):.1f} ms, max {float(lat.group(3)):.0f} ms; "
                  f"other answers: {others or 'none'}", flush=True)
            print(f"    CPU seconds over {wall:.1f} s: {describe_cpu(used, roles)}", flush=True)
            if others:
                failed = True
        # Every win must reach the database: the relays drain, reconcile agrees with Redis.
        listed = ",".join(f"'{c}'" for c in measured)
        written = int(stack.database.rows(f"SELECT count(*) FROM coupons WHERE campaign_id IN ({listed})")[0][0])
        before = cpu_snapshot(stack)
        started = time.time()
        rows, undrained = drained(stack, measured, Supervisor(stack), timeout=600)
        total = sum(len(r) for r in rows.values())
        used = cpu_used(before, cpu_snapshot(stack))
        print(f"  {written} rows were written during the runs; the relays wrote the other {total - written} in "
              f"{time.time() - started:.1f} s after them (relay CPU {sum(used['relay']):.1f} s, postgres "
              f"{used.get('postgres', 0):.1f} s)" + (f"; NOT drained: {sorted(undrained)}" if undrained else ""), flush=True)
        failed = failed or bool(undrained)
    finally:
        stack.stop()
    print(f"cluster bench: {'FAILED' if failed else 'ok'}", flush=True)
    return failed, rates


def main():
    parser = argparse.ArgumentParser(prog="python3 -m checks.cluster_smoke")
    parser.add_argument("binary")
    parser.add_argument("--campaigns", type=int, default=30)
    parser.add_argument("--limit", type=int, help="coupons per campaign (default: sold out near the round's end)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of a round's drop")
    parser.add_argument("--rate", type=float, default=600, help="requests per second over all clients")
    parser.add_argument("--rounds", default="a,b,c,d", help="the rounds to run, comma-separated: " + ", ".join(f"{k} {v}" for k, v in ROUNDS.items()))
    parser.add_argument("--reshard-slots", type=int, default=300, help="slots round b moves")
    parser.add_argument("--max-latency", type=float, default=5.0, help="seconds an answer may take in round b")
    parser.add_argument("--redis-wait-replicas", type=int, default=0, help="the instances' --redis-wait-replicas outside round c")
    parser.add_argument("--single-redis", action="store_true", help="one plain redis-server instead of the cluster")
    parser.add_argument("--bench", action="store_true", help="measure applies/s and CPU instead of the rounds")
    parser.add_argument("--bench-seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64, help="wrk connections in --bench")
    parser.add_argument("--compare", action="store_true", help="with --bench: one redis-server, then the cluster, in one run")
    options = parser.parse_args()
    unknown = set(options.rounds.split(",")) - set(ROUNDS)
    if unknown:
        parser.error(f"unknown round(s) {', '.join(sorted(unknown))}; known: {', '.join(ROUNDS)}")
    Coupongate.binary = options.binary
    if options.bench and options.compare:
        # One run, both stacks on the same machine and build, one after the other.
        options.single_redis = True
        single_failed, single = bench(options)
        options.single_redis = False
        cluster_failed, cluster = bench(options)
        for label in single:
            if label in cluster:
                print(f"cluster bench: {label}: cluster {cluster[label]:,.0f} vs one node {single[label]:,.0f} applies/s "
                      f"({cluster[label] / single[label]:.2f}x)", flush=True)
        sys.exit(1 if single_failed or cluster_failed else 0)
    elif options.bench:
        failed, _ = bench(options)
        sys.exit(1 if failed else 0)
    else:
        smoke(options)


if __name__ == "__main__":
    main()
