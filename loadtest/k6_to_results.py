#!/usr/bin/env python3
"""Turn k6's per-request JSON output into results.json (coupongate-loadtest/1).

Python 3 standard library only. Subcommands:

  ingest   read one phase's k6 JSON output (a file or a FIFO k6 is writing,
           read while k6 runs) and write that phase's results object
  build    put the phases together into results.json, with the `issued`
           figures read after each phase
  timed    run a command (k6) and write the CPU seconds it used
  check    validate a results.json against the schema (keys, types, sums)
  summary  print a short table of a results.json

Volume: k6's `--out json` writes 13 lines (~3.8 kB) per request, so a long
phase at thousands of requests a second would be gigabytes on disk. The runner
therefore gives k6 a FIFO and `ingest` reads it concurrently, in 1 MiB chunks:
bytes.find locates the http_req_duration, vus and coupongate_phase points, the
only lines that reach json's decoder, so the other twelve lines per request
cost no Python work. What is kept is per-second counters plus one 8-byte
double per answered request (array('d')), needed for exact percentiles; at the
end the latencies are sorted once (a transient list, ~32 bytes per request).

Conventions (see loadtest/README.md, section "k6"):
- the phase starts at the coupongate_phase sample that the phase scripts
  emit in setup(); `second` is floor(completion time - start), k6 stamping an
  http_req_* sample with the time its request completed;
- every http_req_duration sample is one request sent; its k6 `status` tag
  classifies it, status 0 (no answer: refused, reset, timeout) is `network`;
- latencies (totals and series) are over the answers, not network errors;
  percentiles interpolate linearly between the two nearest samples, as k6's
  own summary does, so they match k6's p(95)/p(99) when no request failed;
- requestsPerSecond = answers / seconds, seconds = last completion - start;
- the converter records the counts the invariants are judged from (limit,
  ok200, distinctWinners, issued, sent, status) and writes "violations": []:
  it does not judge them. `coupongate loadtest report results.json` does, with
  the same rules for every generator's results (run-k6.sh runs it).
"""

import argparse
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import time
from array import array
from datetime import datetime, timezone

SCHEMA = "coupongate-loadtest/1"
STATUS_KEYS = ("200", "409", "422", "other4xx", "5xx", "other", "network")
PHASE_NAMES = ("baseline", "rampup", "stress", "spike", "custom")

# Byte patterns that select the only lines ingest parses.
_DURATION = b'"metric":"http_req_duration"'
_VUS = b'"metric":"vus"'
_MARKER = b'"metric":"coupongate_phase"'


_decode = json.JSONDecoder().decode


class ConversionError(Exception):
    pass


def status_index(status):
    """Index into STATUS_KEYS for a k6 `status` tag value (a string)."""
    if status == "200":
        return 0
    if status == "422":
        return 2
    if status == "409":
        return 1
    if status == "0" or status == "":
        return 6
    try:
        code = int(status)
    except ValueError:
        return 5
    if 400 <= code <= 499:
        return 3
    if 500 <= code <= 599:
        return 4
    return 5


def percentile(sorted_values, pct):
    """k6's trend percentile: linear interpolation between closest ranks."""
    n = len(sorted_values)
    if n == 0:
        return None
    if n == 1:
        return sorted_values[0]
    i = pct / 100.0 * (n - 1)
    lo = math.floor(i)
    hi = math.ceil(i)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (i - lo)


def _ms(value):
    return None if value is None else round(value, 3)


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class TimeParser:
    """RFC 3339 (k6 writes Go's RFC3339Nano) to epoch seconds, cached per second."""

    def __init__(self):
        self._cache = {}

    def __call__(self, text):
        # Fast path, the form k6 writes in UTC: 2026-11-24T21:30:10.68569926Z
        if text[-1] == "Z" and text[19:20] == ".":
            base = self._cache.get(text[:19])
            if base is not None:
                return base + float("0" + text[19:-1])
        head = text[:19]
        rest = text[19:]
        frac = 0.0
        if rest[:1] == ".":
            i = 1
            while i < len(rest) and rest[i].isdigit():
                i += 1
            frac = float("0" + rest[:i])
            rest = rest[i:]
        key = (head, rest)
        base = self._cache.get(key)
        if base is None:
            tz = "+00:00" if rest in ("Z", "z", "") else rest
            try:
                base = datetime.fromisoformat(head + tz).timestamp()
            except ValueError:
                raise ConversionError(f"unreadable time in k6 output: {text!r}")
            self._cache[key] = base
            if rest == "Z":
                self._cache[head] = base
        return base + frac


class Second:
    __slots__ = ("requests", "status", "latencies")

    def __init__(self):
        self.requests = 0
        self.status = [0] * len(STATUS_KEYS)
        self.latencies = array("d")


class PhaseAggregator:
    """Aggregates one phase's k6 samples as they stream in."""

    def __init__(self, name=None, stages=None, limit=None):
        self.name = name
        self.stages = stages
        self.limit = limit
        self.parse_time = TimeParser()
        self.start = None
        self.marker_seen = False
        self.last_completion = None
        self.seconds = {}
        self.vus = {}  # second -> (time, value)
        self.pending = []  # requests seen before the start was known
        self.pending_vus = []
        self.winners = set()
        self.sent = 0
        self.lines = 0
        self.bytes = 0
        self.parsed = 0

    # -- input -------------------------------------------------------------

    def feed(self, stream, chunk_size=1 << 20):
        """Read k6 JSON lines from a binary stream until EOF.

        Works on whole chunks: bytes.find locates the few lines worth
        parsing, so the other ~12 lines k6 writes per request cost no Python
        work at all. A chunk's unfinished last line waits for the next one.
        """
        carry = b""
        while True:
            data = stream.read(chunk_size)
            if not data:
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                carry += data
                continue
            chunk = carry + data[:cut + 1]
            carry = data[cut + 1:]
            self._chunk(chunk)
        if carry.strip():
            self._chunk(carry + b"\n")

    def _chunk(self, chunk):
        self.lines += chunk.count(b"\n")
        self.bytes += len(chunk)
        # The marker first: it sets the phase's start.
        for pattern, handler in ((_MARKER, self._marker), (_VUS, self._vus), (_DURATION, self._request)):
            find, rfind = chunk.find, chunk.rfind
            at = find(pattern)
            while at >= 0:
                start = rfind(b"\n", 0, at) + 1
                end = find(b"\n", at)
                self._sample(chunk[start:end], handler)
                at = find(pattern, end)

    def _sample(self, line, handler):
        try:
            obj = _decode(line.decode("utf-8"))
        except ValueError:
            raise ConversionError(f"a k6 output line is not JSON: {line[:160]!r}")
        if obj.get("type") != "Point":
            return
        self.parsed += 1
        handler(obj["data"])

    def _marker(self, data):
        tags = data.get("tags") or {}
        if not self.marker_seen:
            self.marker_seen = True
            self.start = self.parse_time(data["time"])
            if self.name is None and tags.get("phase"):
                self.name = tags["phase"]
            if self.stages is None and tags.get("stages"):
                self.stages = json.loads(tags["stages"])
            self._flush_pending()

    def _flush_pending(self):
        pending, self.pending = self.pending, []
        for t, latency, index, uid in pending:
            self._add(t, latency, index, uid)
        pending_vus, self.pending_vus = self.pending_vus, []
        for t, value in pending_vus:
            self._add_vus(t, value)

    def _vus(self, data):
        t = self.parse_time(data["time"])
        if self.start is None:
            self.pending_vus.append((t, data["value"]))
            return
        self._add_vus(t, data["value"])

    def _add_vus(self, t, value):
        second = max(0, int(t - self.start))
        old = self.vus.get(second)
        if old is None or old[0] <= t:
            self.vus[second] = (t, int(value))

    def _request(self, data):
        tags = data.get("tags") or {}
        group = tags.get("group", "")
        if group.startswith("::setup") or group.startswith("::teardown"):
            return
        if "status" not in tags:
            raise ConversionError(
                "http_req_duration sample without a `status` tag: keep `status` in K6_SYSTEM_TAGS")
        index = status_index(tags["status"])
        uid = None
        if index == 0:
            uid = (data.get("metadata") or {}).get("uid")
            if uid is None:
                raise ConversionError(
                    "a 200 answer without the userId in its metadata (`uid`): use loadtest/k6/common.js's applyCoupon")
        t = self.parse_time(data["time"])
        latency = float(data["value"])
        if self.start is None:
            # Our scripts emit the marker in setup(), so it comes first; a
            # script without one starts the phase at its first request.
            self.pending.append((t, latency, index, uid))
            if len(self.pending) < 100000:
                return
            self._start_without_marker()
            return
        self._add(t, latency, index, uid)

    def _start_without_marker(self):
        if self.pending:
            self.start = min(t - latency / 1000.0 for t, latency, _, _ in self.pending)
        elif self.pending_vus:
            self.start = min(t for t, _ in self.pending_vus) - 1.0
        else:
            return
        self._flush_pending()

    def _add(self, t, latency, index, uid):
        self.sent += 1
        second = int(t - self.start) if t > self.start else 0
        bucket = self.seconds.get(second)
        if bucket is None:
            bucket = self.seconds[second] = Second()
        bucket.requests += 1
        bucket.status[index] += 1
        if index != 6:
            bucket.latencies.append(latency)
        if index == 0:
            self.winners.add(uid)
        if self.last_completion is None or t > self.last_completion:
            self.last_completion = t

    # -- output ------------------------------------------------------------

    def finish(self):
        if self.start is None:
            self._start_without_marker()
        if self.start is None:
            raise ConversionError("no samples: the k6 output held neither the phase marker nor any request")

        total_status = [0] * len(STATUS_KEYS)
        everything = array("d")
        series = []
        last = max(list(self.seconds) + list(self.vus) + [0])
        current_vus = self.stages[0]["vus"] if self.stages else None
        if current_vus is None and self.vus:
            current_vus = self.vus[min(self.vus)][1]
        for second in range(last + 1):
            if second in self.vus:
                current_vus = self.vus[second][1]
            bucket = self.seconds.get(second) or Second()
            values = sorted(bucket.latencies)
            everything.extend(bucket.latencies)
            for i, n in enumerate(bucket.status):
                total_status[i] += n
            series.append({
                "second": second,
                "vus": current_vus,
                "requests": bucket.requests,
                "latencyMs": {
                    "p50": _ms(percentile(values, 50)),
                    "p95": _ms(percentile(values, 95)),
                    "p99": _ms(percentile(values, 99)),
                    "max": _ms(values[-1] if values else None),
                },
                "status": dict(zip(STATUS_KEYS, bucket.status)),
            })
        self.seconds = {}

        values = sorted(everything)
        del everything
        seconds = (self.last_completion - self.start) if self.last_completion is not None else 0.0
        answered = self.sent - total_status[6]
        ok200 = total_status[0]
        phase = {
            "name": self.name if self.name in PHASE_NAMES else "custom",
            "stages": self.stages or [],
            "startedAt": rfc3339(self.start),
            "seconds": round(seconds, 3),
            "totals": {
                "sent": self.sent,
                "requestsPerSecond": round(answered / seconds, 1) if seconds > 0 else 0.0,
                "latencyMs": {
                    "avg": _ms(math.fsum(values) / len(values) if values else None),
                    "p50": _ms(percentile(values, 50)),
                    "p95": _ms(percentile(values, 95)),
                    "p99": _ms(percentile(values, 99)),
                    "max": _ms(values[-1] if values else None),
                },
                "status": dict(zip(STATUS_KEYS, total_status)),
            },
            "invariants": {
                "limit": self.limit,
                "ok200": ok200,
                "distinctWinners": len(self.winners),
                "issued": None,
                "violations": [],
            },
            "series": series,
        }
        return phase


def ingest(path, name=None, stages=None, limit=None):
    aggregator = PhaseAggregator(name=name, stages=stages, limit=limit)
    # A FIFO opens once k6 opens it for writing; EOF comes when k6 closes it.
    with open(path, "rb", buffering=0) as stream:
        _grow_pipe(stream)
        aggregator.feed(stream)
    return aggregator, aggregator.finish()


def _grow_pipe(stream):
    """A bigger pipe buffer (1 MiB) lets k6 write on while we parse."""
    try:
        import fcntl
        import stat
        if stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode) and hasattr(fcntl, "F_SETPIPE_SZ"):
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass


def build(phases, target, path="/coupon/apply", started_at=None, issued=None):
    issued = issued or {}
    out_phases = []
    for phase in phases:
        phase = dict(phase)
        inv = dict(phase["invariants"])
        if phase["name"] in issued:
            inv["issued"] = issued[phase["name"]]
        # Not judged here: `coupongate loadtest report` recomputes every invariant from the counts.
        inv["violations"] = []
        phase["invariants"] = inv
        out_phases.append(phase)
    if started_at is None:
        started_at = out_phases[0]["startedAt"] if out_phases else rfc3339(time.time())
    return {
        "schema": SCHEMA,
        "generator": "k6",
        "target": target,
        "path": path,
        "startedAt": started_at,
        "phases": out_phases,
    }


_RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def validate(results):
    """Problems with a results.json against coupongate-loadtest/1 (empty: valid)."""
    problems = []

    def keys(obj, expected, where):
        if not isinstance(obj, dict):
            problems.append(f"{where}: not an object")
            return False
        if set(obj) != set(expected):
            problems.append(f"{where}: keys {sorted(obj)}, expected {sorted(expected)}")
            return False
        return True

    def status(obj, where):
        if keys(obj, STATUS_KEYS, where):
            for k in STATUS_KEYS:
                if not _is_count(obj[k]):
                    problems.append(f"{where}.{k}: not a count")
            return sum(v for v in obj.values() if _is_count(v))
        return None

    def latency(obj, names, where, allow_null):
        if keys(obj, names, where):
            for k in names:
                v = obj[k]
                if v is None and allow_null:
                    continue
                if not _is_number(v) or v < 0:
                    problems.append(f"{where}.{k}: {v!r} is not a latency in ms")

    if not keys(results, ("schema", "generator", "target", "path", "startedAt", "phases"), "results"):
        return problems
    if results["schema"] != SCHEMA:
        problems.append(f"schema is {results['schema']!r}")
    if results["generator"] not in ("coupongate", "k6"):
        problems.append(f"generator is {results['generator']!r}")
    for k in ("target", "path"):
        if not isinstance(results[k], str):
            problems.append(f"{k}: not a string")
    if not isinstance(results["startedAt"], str) or not _RFC3339_UTC.match(results["startedAt"]):
        problems.append(f"startedAt {results['startedAt']!r} is not UTC RFC 3339")
    if not isinstance(results["phases"], list):
        problems.append("phases: not a list")
        return problems
    for n, phase in enumerate(results["phases"]):
        where = f"phases[{n}]"
        if not keys(phase, ("name", "stages", "startedAt", "seconds", "totals", "invariants", "series"), where):
            continue
        where = f"phases[{n}] ({phase['name']})"
        if phase["name"] not in PHASE_NAMES:
            problems.append(f"{where}: name {phase['name']!r}")
        if not isinstance(phase["stages"], list):
            problems.append(f"{where}.stages: not a list")
        else:
            for i, stage in enumerate(phase["stages"]):
                if keys(stage, ("vus", "seconds"), f"{where}.stages[{i}]"):
                    if not _is_count(stage["vus"]) or not _is_number(stage["seconds"]) or stage["seconds"] <= 0:
                        problems.append(f"{where}.stages[{i}]: {stage!r}")
        if not isinstance(phase["startedAt"], str) or not _RFC3339_UTC.match(phase["startedAt"]):
            problems.append(f"{where}.startedAt {phase['startedAt']!r} is not UTC RFC 3339")
        if not _is_number(phase["seconds"]) or phase["seconds"] < 0:
            problems.append(f"{where}.seconds: {phase['seconds']!r}")
        totals = phase["totals"]
        total = None
        if keys(totals, ("sent", "requestsPerSecond", "latencyMs", "status"), f"{where}.totals"):
            if not _is_count(totals["sent"]):
                problems.append(f"{where}.totals.sent: not a count")
            if not _is_number(totals["requestsPerSecond"]) or totals["requestsPerSecond"] < 0:
                problems.append(f"{where}.totals.requestsPerSecond: {totals['requestsPerSecond']!r}")
            latency(totals["latencyMs"], ("avg", "p50", "p95", "p99", "max"), f"{where}.totals.latencyMs", True)
            total = status(totals["status"], f"{where}.totals.status")
            if total is not None and total != totals["sent"]:
                problems.append(f"{where}: sent {totals['sent']} but the statuses add up to {total}")
        inv = phase["invariants"]
        if keys(inv, ("limit", "ok200", "distinctWinners", "issued", "violations"), f"{where}.invariants"):
            for k in ("limit", "issued"):
                if inv[k] is not None and not _is_count(inv[k]):
                    problems.append(f"{where}.invariants.{k}: {inv[k]!r}")
            for k in ("ok200", "distinctWinners"):
                if not _is_count(inv[k]):
                    problems.append(f"{where}.invariants.{k}: {inv[k]!r}")
            if total is not None and inv["ok200"] != totals["status"]["200"]:
                problems.append(f"{where}: ok200 {inv['ok200']} but status 200 is {totals['status']['200']}")
            if not isinstance(inv["violations"], list) or not all(isinstance(v, str) for v in inv["violations"]):
                problems.append(f"{where}.invariants.violations: not a list of sentences")
        if not isinstance(phase["series"], list):
            problems.append(f"{where}.series: not a list")
            continue
        previous = -1
        in_series = 0
        for i, entry in enumerate(phase["series"]):
            at = f"{where}.series[{i}]"
            if not keys(entry, ("second", "vus", "requests", "latencyMs", "status"), at):
                continue
            if not _is_count(entry["second"]) or entry["second"] <= previous:
                problems.append(f"{at}.second: {entry['second']!r} after {previous}")
            else:
                previous = entry["second"]
            if entry["vus"] is not None and not _is_count(entry["vus"]):
                problems.append(f"{at}.vus: {entry['vus']!r}")
            if not _is_count(entry["requests"]):
                problems.append(f"{at}.requests: not a count")
            latency(entry["latencyMs"], ("p50", "p95", "p99", "max"), f"{at}.latencyMs", True)
            added = status(entry["status"], f"{at}.status")
            if added is not None and _is_count(entry["requests"]):
                in_series += entry["requests"]
                if added != entry["requests"]:
                    problems.append(f"{at}: {entry['requests']} requests but the statuses add up to {added}")
        if total is not None and _is_count(totals["sent"]) and in_series != totals["sent"]:
            problems.append(f"{where}: the series count {in_series} requests, the totals {totals['sent']}")
    return problems


def write_json(path, obj):
    text = json.dumps(obj, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def cpu_seconds(usage):
    return usage.ru_utime + usage.ru_stime


# -- commands ----------------------------------------------------------------

def cmd_ingest(args):
    stages = json.loads(args.stages) if args.stages else None
    started = time.monotonic()
    aggregator, phase = ingest(args.input, name=args.phase, stages=stages, limit=args.limit)
    write_json(args.output, phase)
    cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
    stats = {
        "phase": phase["name"],
        "lines": aggregator.lines,
        "bytes": aggregator.bytes,
        "parsedPoints": aggregator.parsed,
        "requests": phase["totals"]["sent"],
        "cpuSeconds": round(cpu, 3),
        "wallSeconds": round(time.monotonic() - started, 3),
        "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if args.stats:
        write_json(args.stats, stats)
    print(f"k6_to_results: {phase['name']}: {stats['lines']} lines ({stats['bytes'] / 1e6:.1f} MB), "
          f"{stats['requests']} requests, {stats['cpuSeconds']} CPU-s", file=sys.stderr)
    return 0


def cmd_build(args):
    phases = []
    for path in args.phases:
        with open(path, encoding="utf-8") as f:
            phases.append(json.load(f))
    issued = {}
    for item in args.issued or []:
        name, _, value = item.partition("=")
        if not value:
            raise ConversionError(f"--issued wants NAME=N, got {item!r}")
        issued[name] = None if value == "null" else int(value)
    results = build(phases, args.target, path=args.path, started_at=args.started_at, issued=issued)
    write_json(args.output, results)
    return 0


def cmd_timed(args):
    """Run a command; write its CPU seconds (user+sys, from wait4) to a file.

    SIGINT is ignored here (a terminal's Ctrl-C goes to the child too). The
    first SIGTERM is passed on, so k6 stops gracefully and is still
    measured; a second one kills the child.
    """
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ConversionError("timed: no command")
    started = time.monotonic()
    child = subprocess.Popen(command)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    terms = []

    def on_term(*_):
        terms.append(1)
        child.send_signal(signal.SIGTERM if len(terms) == 1 else signal.SIGKILL)

    signal.signal(signal.SIGTERM, on_term)
    while True:
        try:
            _, status, usage = os.wait4(child.pid, 0)
            break
        except InterruptedError:
            continue
    child.returncode = os.waitstatus_to_exitcode(status)
    with open(args.cpu_out, "w", encoding="utf-8") as f:
        json.dump({"cpuSeconds": round(cpu_seconds(usage), 3),
                   "userSeconds": round(usage.ru_utime, 3),
                   "systemSeconds": round(usage.ru_stime, 3),
                   "wallSeconds": round(time.monotonic() - started, 3),
                   "maxRssKiB": usage.ru_maxrss,
                   "exitCode": child.returncode}, f)
        f.write("\n")
    code = child.returncode
    return code if code >= 0 else 128 - code


def cmd_check(args):
    with open(args.results, encoding="utf-8") as f:
        problems = validate(json.load(f))
    for problem in problems:
        print(f"k6_to_results: {args.results}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{args.results}: valid {SCHEMA}", file=sys.stderr)
    return 0


def cmd_summary(args):
    with open(args.results, encoding="utf-8") as f:
        results = json.load(f)
    print(f"{'phase':<9} {'sent':>9} {'req/s':>8} {'avg':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>8}"
          f" {'200':>5} {'409':>5} {'422':>9} {'4xx':>5} {'5xx':>5} {'net':>5} {'issued':>6}")
    for p in results["phases"]:
        t, s, inv = p["totals"], p["totals"]["status"], p["invariants"]
        lat = {k: ("-" if v is None else f"{v:.2f}") for k, v in t["latencyMs"].items()}
        print(f"{p['name']:<9} {t['sent']:>9} {t['requestsPerSecond']:>8.1f} {lat['avg']:>7} {lat['p50']:>7}"
              f" {lat['p95']:>7} {lat['p99']:>7} {lat['max']:>8} {s['200']:>5} {s['409']:>5} {s['422']:>9}"
              f" {s['other4xx']:>5} {s['5xx']:>5} {s['network']:>5} {str(inv['issued']):>6}")
    # A table, not a verdict: `coupongate loadtest report` judges the invariants.
    print("latencies in ms")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="one phase's k6 JSON output -> that phase's results object")
    p.add_argument("--input", required=True, help="k6 --out json file or FIFO ('-' is not supported)")
    p.add_argument("--output", "-o", required=True, help="phase JSON to write ('-' for stdout)")
    p.add_argument("--phase", help="phase name (default: the one the script's marker carries)")
    p.add_argument("--stages", help="stages as JSON (default: the ones the script's marker carries)")
    p.add_argument("--limit", type=int, help="the campaign's limit, read before the phase")
    p.add_argument("--stats", help="also write lines/bytes/CPU of this conversion to this file")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("build", help="phase objects -> results.json")
    p.add_argument("phases", nargs="+", help="phase JSON files written by ingest, in order")
    p.add_argument("--target", required=True, help="the BASE_URL loaded")
    p.add_argument("--path", default="/coupon/apply")
    p.add_argument("--started-at", help="RFC 3339 (default: the first phase's start)")
    p.add_argument("--issued", action="append", metavar="PHASE=N",
                   help="`issued` read from GET /campaigns/default after PHASE ('null' if not read)")
    p.add_argument("--output", "-o", required=True)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("timed", help="run a command, write its CPU seconds")
    p.add_argument("--cpu-out", required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_timed)

    p = sub.add_parser("check", help="validate a results.json against the schema")
    p.add_argument("results")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="print a results.json as a table (no verdict on the invariants)")
    p.add_argument("results")
    p.set_defaults(func=cmd_summary)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConversionError as e:
        print(f"k6_to_results: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
