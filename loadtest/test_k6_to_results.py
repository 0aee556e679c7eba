#!/usr/bin/env python3
"""Tests for k6_to_results.py on synthetic k6 JSON output.

The lines are written exactly as k6 v1.1 writes them with `--out json`
(checked against a real run of loadtest/k6/01_baseline.js): a "Metric" line
the first time a metric appears, then one "Point" line per sample, with the
phase scripts' userId in "metadata" and k6's `status` tag.

    python3 -m unittest loadtest.test_k6_to_results     (from the repository root)
"""

import io
import json
import os
import tempfile
import threading
import unittest
from datetime import datetime, timedelta, timezone

from loadtest import k6_to_results as conv

T0 = datetime(2026, 11, 24, 21, 0, 0, 250000, tzinfo=timezone.utc)
STAGES = [{"vus": 10, "seconds": 1}, {"vus": 50, "seconds": 1.5}]


def k6_time(offset):
    """Go's RFC3339Nano in UTC: nanoseconds with trailing zeros dropped."""
    t = T0 + timedelta(seconds=offset)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    micro = t.microsecond
    if micro:
        text += ("." + f"{micro:06d}" + "000").rstrip("0")
    return text + "Z"


METRIC_LINES = {
    "coupongate_phase": '{"type":"Metric","data":{"name":"coupongate_phase","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"coupongate_phase"}',
    "vus": '{"type":"Metric","data":{"name":"vus","type":"gauge","contains":"default","thresholds":[],"submetrics":null},"metric":"vus"}',
    "vus_max": '{"type":"Metric","data":{"name":"vus_max","type":"gauge","contains":"default","thresholds":[],"submetrics":null},"metric":"vus_max"}',
    "http_reqs": '{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}',
    "http_req_duration": '{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":[],"submetrics":[{"name":"http_req_duration{expected_response:true}","suffix":"expected_response:true","tags":{"expected_response":"true"}}]},"metric":"http_req_duration"}',
    "http_req_waiting": '{"type":"Metric","data":{"name":"http_req_waiting","type":"trend","contains":"time","thresholds":[],"submetrics":null},"metric":"http_req_waiting"}',
    "iterations": '{"type":"Metric","data":{"name":"iterations","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"iterations"}',
}


class K6Stream:
    """Builds k6 JSON output lines."""

    def __init__(self):
        self.lines = []
        self.seen = set()

    def _point(self, metric, offset, value, tags, metadata=None):
        if metric not in self.seen:
            self.seen.add(metric)
            self.lines.append(METRIC_LINES[metric])
        data = {"time": k6_time(offset), "value": value, "tags": tags}
        if metadata is not None:
            data["metadata"] = metadata
        self.lines.append(json.dumps({"metric": metric, "type": "Point", "data": data}, separators=(",", ":")))

    def marker(self, offset=0.0, phase="baseline", stages=STAGES):
        self._point("coupongate_phase", offset, 1,
                    {"group": "::setup", "phase": phase, "stages": json.dumps(stages, separators=(",", ":"))})

    def vus(self, offset, value):
        self._point("vus", offset, value, {})
        self._point("vus_max", offset, value, {})

    def request(self, offset, ms, status, uid, group=""):
        tags = {"expected_response": "true" if status in ("200", "409", "422") else "false",
                "group": group, "method": "POST", "name": "POST /coupon/apply", "proto": "HTTP/1.1",
                "scenario": "apply", "status": status, "url": "POST /coupon/apply"}
        if status == "0":
            tags = {"error": "dial: connection refused", "error_code": "1212", **tags}
            del tags["proto"]
        elif status == "409":
            tags = {"error_code": "1409", **tags}
        metadata = None if uid is None else {"uid": uid}
        # k6 writes all of these per request; only http_req_duration counts.
        self._point("http_reqs", offset, 1, tags, metadata)
        self._point("http_req_duration", offset, ms, tags, metadata)
        self._point("http_req_waiting", offset, ms * 0.9, tags, metadata)
        self._point("iterations", offset, 1, {"group": "", "scenario": "apply"}, metadata)

    def text(self):
        return "".join(line + "\n" for line in self.lines)

    def bytes(self):
        return self.text().encode()


def ingest_bytes(data, chunk_size=1 << 20, **kwargs):
    agg = conv.PhaseAggregator(**kwargs)
    agg.feed(io.BytesIO(data), chunk_size=chunk_size)
    return agg, agg.finish()


def sample_stream():
    """Two seconds of a phase with every kind of answer.

    second 0: 200 x3 (2, 4, 6 ms), 422 x2 (1, 3 ms), one network error
    second 1: 409 (10 ms), 404 (20 ms), 503 (30 ms), 302 (40 ms), 422 (5 ms)
    second 2: nothing completes; second 3: one 422 (7 ms)
    """
    s = K6Stream()
    s.marker()
    s.request(0.10, 2.0, "200", "1001")
    s.request(0.20, 1.0, "422", "1002")
    s.request(0.30, 4.0, "200", "1003")
    s.request(0.40, 0.0, "0", "1004")
    s.vus(1.0004, 10)
    s.request(0.90, 6.0, "200", "1005")
    s.request(0.95, 3.0, "422", "1006")
    s.request(1.10, 10.0, "409", "1007")
    s.request(1.20, 20.0, "404", "1008")
    s.request(1.30, 30.0, "503", "1009")
    s.request(1.40, 40.0, "302", "1010")
    s.request(1.99, 5.0, "422", "1011")
    s.vus(2.0003, 50)
    s.request(3.50, 7.0, "422", "1012")
    return s


class PercentileTests(unittest.TestCase):
    def test_matches_k6_linear_interpolation(self):
        values = [1.0, 2.0, 3.0, 4.0]
        self.assertEqual(conv.percentile(values, 50), 2.5)
        self.assertAlmostEqual(conv.percentile(values, 95), 3.85)
        self.assertAlmostEqual(conv.percentile(values, 99), 3.97)
        self.assertEqual(conv.percentile([7.0], 99), 7.0)
        self.assertIsNone(conv.percentile([], 50))

    def test_status_classes(self):
        keys = [conv.STATUS_KEYS[conv.status_index(s)] for s in
                ("200", "409", "422", "400", "499", "500", "503", "0", "302", "101", "")]
        self.assertEqual(keys, ["200", "409", "422", "other4xx", "other4xx", "5xx", "5xx",
                                "network", "other", "other", "network"])

    def test_time_parser(self):
        parse = conv.TimeParser()
        base = datetime(2026, 11, 24, 21, 30, 10, tzinfo=timezone.utc).timestamp()
        self.assertAlmostEqual(parse("2026-11-24T21:30:10.68569926Z"), base + 0.68569926, places=6)
        self.assertAlmostEqual(parse("2026-11-24T21:30:10Z"), base)
        self.assertAlmostEqual(parse("2026-11-24T21:30:10.5Z"), base + 0.5)
        self.assertAlmostEqual(parse("2026-11-24T23:30:10.25+02:00"), base + 0.25)


class IngestTests(unittest.TestCase):
    def setUp(self):
        self.agg, self.phase = ingest_bytes(sample_stream().bytes(), limit=3)

    def test_phase_header(self):
        p = self.phase
        self.assertEqual(p["name"], "baseline")
        self.assertEqual(p["stages"], STAGES)  # from the marker's tags
        self.assertEqual(p["startedAt"], "2026-11-24T21:00:00Z")
        self.assertAlmostEqual(p["seconds"], 3.5)

    def test_totals(self):
        t = self.phase["totals"]
        self.assertEqual(t["sent"], 12)
        self.assertEqual(t["status"], {"200": 3, "409": 1, "422": 4, "other4xx": 1, "5xx": 1,
                                       "other": 1, "network": 1})
        self.assertEqual(sum(t["status"].values()), t["sent"])
        # 11 answers over 3.5 s; the network error is not an answer.
        self.assertEqual(t["requestsPerSecond"], round(11 / 3.5, 1))
        # Latencies over the answers, the network error left out.
        answers = sorted([2.0, 1.0, 4.0, 6.0, 3.0, 10.0, 20.0, 30.0, 40.0, 5.0, 7.0])
        lat = t["latencyMs"]
        self.assertAlmostEqual(lat["avg"], round(sum(answers) / 11, 3))
        self.assertEqual(lat["p50"], 6.0)  # rank 5 of 0..10
        self.assertAlmostEqual(lat["p95"], 35.0)  # 9.5 -> between 30 and 40
        self.assertAlmostEqual(lat["p99"], 39.0)
        self.assertEqual(lat["max"], 40.0)

    def test_series(self):
        series = self.phase["series"]
        self.assertEqual([e["second"] for e in series], [0, 1, 2, 3])
        self.assertEqual([e["requests"] for e in series], [6, 5, 0, 1])
        # vus: the first stage's level until k6's first vus sample (at ~1 s),
        # then carried forward through seconds without a sample.
        self.assertEqual([e["vus"] for e in series], [10, 10, 50, 50])
        s0, s1, s2, s3 = series
        self.assertEqual(s0["status"], {"200": 3, "409": 0, "422": 2, "other4xx": 0, "5xx": 0,
                                        "other": 0, "network": 1})
        self.assertEqual(s0["latencyMs"], {"p50": 3.0, "p95": 5.6, "p99": 5.92, "max": 6.0})
        self.assertEqual(s1["status"], {"200": 0, "409": 1, "422": 1, "other4xx": 1, "5xx": 1,
                                        "other": 1, "network": 0})
        self.assertEqual(s1["latencyMs"]["p50"], 20.0)
        self.assertEqual(s1["latencyMs"]["max"], 40.0)
        self.assertEqual(s2["latencyMs"], {"p50": None, "p95": None, "p99": None, "max": None})
        self.assertEqual(s2["status"], dict.fromkeys(conv.STATUS_KEYS, 0))
        self.assertEqual(s3["latencyMs"], {"p50": 7.0, "p95": 7.0, "p99": 7.0, "max": 7.0})
        for e in series:
            self.assertEqual(sum(e["status"].values()), e["requests"])

    def test_invariants_hold(self):
        inv = self.phase["invariants"]
        self.assertEqual(inv, {"limit": 3, "ok200": 3, "distinctWinners": 3, "issued": None,
                               "violations": []})

    def test_only_the_needed_lines_are_parsed(self):
        # 1 marker + 2 vus + 12 http_req_duration points.
        self.assertEqual(self.agg.parsed, 15)
        self.assertEqual(self.agg.lines, len(sample_stream().lines))

    def test_chunk_boundaries_do_not_matter(self):
        data = sample_stream().bytes()
        for size in (1, 7, 64, 333, 4096):
            _, phase = ingest_bytes(data, chunk_size=size, limit=3)
            self.assertEqual(phase, self.phase, f"chunk size {size}")

    def test_no_trailing_newline(self):
        data = sample_stream().bytes().rstrip(b"\n")
        _, phase = ingest_bytes(data, limit=3)
        self.assertEqual(phase, self.phase)

    def test_setup_requests_are_not_counted(self):
        s = sample_stream()
        s.request(0.01, 1.0, "200", "9", group="::setup")
        _, phase = ingest_bytes(s.bytes(), limit=3)
        self.assertEqual(phase["totals"]["sent"], 12)

    def test_a_200_needs_its_user_id(self):
        s = K6Stream()
        s.marker()
        s.request(0.1, 1.0, "200", None)
        with self.assertRaises(conv.ConversionError):
            ingest_bytes(s.bytes())

    def test_without_a_marker_the_first_request_starts_the_phase(self):
        s = K6Stream()
        s.request(0.5, 100.0, "422", "1")  # started at 0.4
        s.request(1.45, 1.0, "422", "2")
        _, phase = ingest_bytes(s.bytes(), name="custom")
        self.assertEqual(phase["name"], "custom")
        self.assertEqual(phase["stages"], [])
        # The phase starts at 0.4 (0.5 minus 100 ms), so 1.45 is in second 1.
        self.assertEqual([e["requests"] for e in phase["series"]], [1, 1])
        self.assertAlmostEqual(phase["seconds"], 1.05)

    def test_marker_after_requests(self):
        # Should k6 ever write the marker late, nothing is bucketed early.
        s = sample_stream()
        marker = s.lines[:2]
        s.lines = s.lines[2:] + marker
        _, phase = ingest_bytes(s.bytes(), limit=3)
        self.assertEqual(phase, self.phase)

    def test_reads_a_fifo_while_it_is_written(self):
        data = sample_stream().bytes()
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "k6.json")
            os.mkfifo(fifo)

            def write():
                with open(fifo, "wb") as f:
                    for i in range(0, len(data), 100):
                        f.write(data[i:i + 100])
                        f.flush()

            writer = threading.Thread(target=write)
            writer.start()
            _, phase = conv.ingest(fifo, limit=3)
            writer.join()
        self.assertEqual(phase, self.phase)


# Lines taken from real k6 v1.1.0 runs of loadtest/k6/01_baseline.js and, for
# the network error, of a request to a closed port; only their times were
# edited to put them into one phase.
REAL_LINES = b"""{"type":"Metric","data":{"name":"coupongate_phase","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"coupongate_phase"}
{"metric":"coupongate_phase","type":"Point","data":{"time":"2026-11-24T21:34:28.6282Z","value":1,"tags":{"group":"::setup","phase":"baseline","stages":"[{\\"vus\\":10,\\"seconds\\":3}]"}}}
{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}
{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-24T21:34:28.631667886Z","value":1,"tags":{"expected_response":"true","group":"","method":"POST","name":"POST /coupon/apply","proto":"HTTP/1.1","scenario":"apply","status":"200","url":"POST /coupon/apply"},"metadata":{"uid":"70007000000001"}}}
{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":[],"submetrics":[{"name":"http_req_duration{expected_response:true}","suffix":"expected_response:true","tags":{"expected_response":"true"}}]},"metric":"http_req_duration"}
{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-24T21:34:28.631667886Z","value":3.419484,"tags":{"expected_response":"true","group":"","method":"POST","name":"POST /coupon/apply","proto":"HTTP/1.1","scenario":"apply","status":"200","url":"POST /coupon/apply"},"metadata":{"uid":"70007000000001"}}}
{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-24T21:34:29.553133539Z","value":0,"tags":{"error":"dial: connection refused","error_code":"1212","expected_response":"false","group":"","method":"POST","name":"POST /coupon/apply","scenario":"default","status":"0","url":"POST /coupon/apply"},"metadata":{"uid":"42"}}}
{"type":"Metric","data":{"name":"vus","type":"gauge","contains":"default","thresholds":[],"submetrics":null},"metric":"vus"}
{"metric":"vus","type":"Point","data":{"time":"2026-11-24T21:34:29.629354633Z","value":10,"tags":{}}}
{"type":"Metric","data":{"name":"vus_max","type":"gauge","contains":"default","thresholds":[],"submetrics":null},"metric":"vus_max"}
{"metric":"vus_max","type":"Point","data":{"time":"2026-11-24T21:34:29.629354633Z","value":10,"tags":{}}}
"""


class RealK6LinesTests(unittest.TestCase):
    def test_real_lines(self):
        _, phase = ingest_bytes(REAL_LINES, limit=100)
        self.assertEqual(phase["name"], "baseline")
        self.assertEqual(phase["stages"], [{"vus": 10, "seconds": 3}])
        self.assertEqual(phase["startedAt"], "2026-11-24T21:34:28Z")
        self.assertEqual(phase["totals"]["sent"], 2)
        self.assertEqual(phase["totals"]["status"]["200"], 1)
        self.assertEqual(phase["totals"]["status"]["network"], 1)
        self.assertEqual(phase["totals"]["latencyMs"]["max"], 3.419)
        self.assertEqual([(e["second"], e["vus"], e["requests"]) for e in phase["series"]],
                         [(0, 10, 2), (1, 10, 0)])
        self.assertEqual(phase["invariants"]["distinctWinners"], 1)

    def test_synthetic_lines_have_the_real_shape(self):
        real = [json.loads(line) for line in REAL_LINES.splitlines()]
        synthetic = [json.loads(line) for line in sample_stream().lines]

        def shape(obj):
            if obj["type"] == "Metric":
                return ("Metric", tuple(obj), tuple(obj["data"]))
            return ("Point", tuple(obj), tuple(obj["data"]))

        self.assertLessEqual({shape(o) for o in synthetic}, {shape(o) for o in real} | {
            ("Point", ("metric", "type", "data"), ("time", "value", "tags"))})
        self.assertEqual(list(json.loads(sample_stream().lines[1])), ["metric", "type", "data"])


class InvariantCountsTests(unittest.TestCase):
    """The converter records what the invariants are judged from and judges nothing:
    `coupongate loadtest report` does, for every generator's results."""

    def test_counts_are_recorded_and_not_judged(self):
        s = K6Stream()
        s.marker(phase="stress", stages=[{"vus": 300, "seconds": 300}])
        s.request(0.1, 1.0, "200", "1")
        s.request(0.2, 1.0, "200", "2")
        s.request(0.3, 1.0, "200", "2")  # the same user wins twice
        s.request(0.4, 1.0, "200", "3")
        for i in range(10):
            s.request(0.5 + i / 100, 1.0, "422", str(10 + i))
        _, phase = ingest_bytes(s.bytes(), limit=3)
        results = conv.build([phase], "http://127.0.0.1:8080", issued={"stress": 5})
        inv = results["phases"][0]["invariants"]
        # Over-issued, a duplicate winner, and issued != 200s: all left to `loadtest report`.
        self.assertEqual(inv, {"limit": 3, "ok200": 4, "distinctWinners": 3, "issued": 5, "violations": []})
        self.assertEqual(results["phases"][0]["totals"]["sent"], 14)
        self.assertEqual(conv.validate(results), [])

    def test_unknown_limit_and_issued(self):
        _, phase = ingest_bytes(sample_stream().bytes())
        results = conv.build([phase], "http://x")
        inv = results["phases"][0]["invariants"]
        self.assertIsNone(inv["limit"])
        self.assertIsNone(inv["issued"])
        self.assertEqual(inv["violations"], [])


class EndToEndTests(unittest.TestCase):
    def test_cli_ingest_build_check(self):
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "baseline.k6.json")
            with open(raw, "wb") as f:
                f.write(sample_stream().bytes())
            phase_file = os.path.join(tmp, "baseline.phase.json")
            stats = os.path.join(tmp, "stats.json")
            out = os.path.join(tmp, "results.json")
            self.assertEqual(conv.main(["ingest", "--input", raw, "--phase", "baseline", "--limit", "3",
                                        "-o", phase_file, "--stats", stats]), 0)
            self.assertEqual(conv.main(["build", "--target", "http://127.0.0.1:18090", "--issued",
                                        "baseline=4", "-o", out, phase_file]), 0)
            with open(out) as f:
                results = json.load(f)
            self.assertEqual(conv.main(["check", out]), 0)
            with open(stats) as f:
                self.assertEqual(json.load(f)["requests"], 12)
        self.assertEqual(results["schema"], "coupongate-loadtest/1")
        self.assertEqual(results["generator"], "k6")
        self.assertEqual(results["target"], "http://127.0.0.1:18090")
        self.assertEqual(results["path"], "/coupon/apply")
        self.assertEqual(results["startedAt"], "2026-11-24T21:00:00Z")
        inv = results["phases"][0]["invariants"]
        self.assertEqual(inv["issued"], 4)
        self.assertEqual(inv["violations"], [])  # 4 issued but 3 200s: judged by `loadtest report`

    def test_validate_catches_broken_results(self):
        _, phase = ingest_bytes(sample_stream().bytes(), limit=3)
        results = conv.build([phase], "http://x", issued={"baseline": 3})
        self.assertEqual(conv.validate(results), [])
        results["phases"][0]["totals"]["sent"] += 1
        del results["phases"][0]["series"][0]["status"]["5xx"]
        results["phases"][0]["startedAt"] = "2026-11-24 21:00:00"
        problems = conv.validate(results)
        self.assertTrue(any("statuses add up" in p for p in problems), problems)
        self.assertTrue(any("series[0].status" in p for p in problems), problems)
        self.assertTrue(any("RFC 3339" in p for p in problems), problems)


if __name__ == "__main__":
    unittest.main()
