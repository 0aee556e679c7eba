"""Tests of the harness on its own: no coupongate, no servers (stand-ins where a process is needed).

    python3 -m unittest harness.test_harness     (from the repository root)
"""
import contextlib
import http.server
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness.api import parse_apply
from harness.checks import Checks
from harness.cpu import cpu_seconds
from harness.invariants import answer_violations, row_violations
from harness.net import NotReady, free_port, request, wait_until
from harness.processes import Coupongate, children
from harness.redis_cluster import campaign_slot, hash_slot
from harness.relay import NOTHING_IN_FLIGHT, drain
from harness.scale import documented_conf_is_current, render_lb_conf


class ChecksTests(unittest.TestCase):
    def finish(self, check):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as exited:
            check.finish()
        return exited.exception.code, out.getvalue()

    def test_all_passed(self):
        check = Checks("unit")
        check(True, "one")
        check(1 == 1, "two")
        self.assertEqual(self.finish(check), (0, "unit: 2 passed, 0 failed\n"))

    def test_a_failure_is_printed_and_fails_the_run(self):
        check = Checks("unit")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            check(True, "fine")
            check(False, "broken thing")
        self.assertEqual(out.getvalue(), "  FAIL broken thing\n")
        self.assertEqual(self.finish(check), (1, "unit: 1 passed, 1 failed\n"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = b'{"ok": true}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class NetTests(unittest.TestCase):
    def test_free_port_can_be_bound(self):
        port = free_port()
        server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        server.server_close()

    def test_request(self):
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            status, headers, body = request(server.server_address[1], "POST", "/x", body=b"{}")
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual((status, headers["Content-Type"], body), (201, "application/json", b'{"ok": true}'))

    def test_request_to_nothing_raises_oserror(self):
        with self.assertRaises(OSError):
            request(free_port(), "GET", "/", timeout=2)

    def test_wait_until_returns_what_the_probe_returned(self):
        calls = []

        def probe():
            calls.append(1)
            if len(calls) < 3:
                raise ConnectionRefusedError("not yet")  # an OSError: not ready yet
            return "ready"

        self.assertEqual(wait_until("thing", probe, timeout=5, interval=0.01), "ready")
        self.assertEqual(len(calls), 3)

    def test_wait_until_times_out_with_the_last_error_and_details(self):
        def probe():
            raise ConnectionRefusedError("refused")

        with self.assertRaises(NotReady) as failed:
            wait_until("thing", probe, timeout=0.2, interval=0.05, details=lambda: "the log")
        self.assertIn("thing was not ready within 0.2 s (refused)", str(failed.exception))
        self.assertTrue(str(failed.exception).endswith(":\nthe log"))

    def test_wait_until_stops_at_once_when_the_process_exited(self):
        process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(7)"])
        process.wait()
        started = time.time()
        with self.assertRaises(NotReady) as failed:
            wait_until("thing", lambda: False, timeout=30, process=process)
        self.assertLess(time.time() - started, 5)
        self.assertIn("the process exited (7)", str(failed.exception))

    def test_other_errors_of_the_probe_are_not_swallowed(self):
        def probe():
            raise ValueError("a bug")

        with self.assertRaises(ValueError):
            wait_until("thing", probe, timeout=1)


class ProcessesTests(unittest.TestCase):
    def test_the_announced_port_is_read_and_the_output_kept(self):
        script = ("import sys, time; print('starting'); print('Server started and listening on 127.0.0.1:4321', flush=True);"
                  "print('later', flush=True); time.sleep(30)")
        process = Coupongate("-c", script, binary=sys.executable).start(timeout=10)
        try:
            self.assertEqual(process.port, 4321)
            self.assertEqual([line.strip() for line in process.lines][0], "starting")
            wait_until("the tail", lambda: any("later" in line for line in process.tail), timeout=5, interval=0.05)
        finally:
            self.assertEqual(process.kill(), -9)

    def test_a_process_that_exits_before_announcing_fails_with_its_output(self):
        with self.assertRaises(RuntimeError) as failed:
            Coupongate("-c", "print('Error: bad flag')", binary=sys.executable).start(timeout=10)
        self.assertIn("Error: bad flag", str(failed.exception))

    def test_children(self):
        child = subprocess.Popen(["sleep", "30"])
        try:
            self.assertIn(child.pid, children(os.getpid()))
        finally:
            child.kill()
            child.wait()


class CPUTests(unittest.TestCase):
    def test_cpu_seconds(self):
        until = time.process_time() + 0.2
        while time.process_time() < until:
            pass
        own = cpu_seconds(os.getpid())
        self.assertGreater(own, 0.1)
        # A pid that is gone counts 0; several pids add up.
        self.assertEqual(cpu_seconds(2 ** 22 + 1), 0.0)
        self.assertAlmostEqual(cpu_seconds(os.getpid(), 2 ** 22 + 1), cpu_seconds(os.getpid()), delta=0.05)

    def test_reaped_children_count_when_asked(self):
        subprocess.run([sys.executable, "-c", "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"], check=True)
        self.assertGreater(cpu_seconds(os.getpid(), with_reaped_children=True) - cpu_seconds(os.getpid()), 0.2)


class InvariantsTests(unittest.TestCase):
    def test_answers(self):
        answers = [(1, 200, (1, "t1"), None), (2, 200, (2, "t2"), None), (1, 409, (1, "t1"), None),
                   (3, 422, None, "sold-out"), (4, 0, None, None)]
        self.assertEqual(answer_violations(answers, {409, 422, 0}), ([], {1: 1, 2: 2}))
        problems, _ = answer_violations(answers + [(2, 200, (2, "t2"), None), (5, 500, None, "internal")], {409, 422})
        self.assertEqual(problems, ["user 4 got status 0", "user 2 got 200 twice", "user 5 got status 500 (internal)"])

    def test_repeats_with_one_key_may_win_twice_with_the_same_coupon(self):
        same = [(1, 200, (1, "t1"), None), (1, 200, (1, "t1"), None)]
        self.assertEqual(answer_violations(same, {409}, same_coupon_repeats=True), ([], {1: 1}))
        other = [(1, 200, (1, "t1"), None), (1, 200, (2, "t2"), None)]
        self.assertEqual(answer_violations(other, {409}, same_coupon_repeats=True)[0], ["user 1 got 200 twice with different coupons"])

    def test_rows_that_hold(self):
        retried = []

        def retry(user):
            retried.append(user)
            return 409, 3

        # User 30's 200 was lost in flight: its retry answers 409 with the coupon.
        self.assertEqual(row_violations([(10, 1), (20, 2), (30, 3)], 3, {10: 1, 20: 2}, retry), [])
        self.assertEqual(retried, [30])

    def test_rows_that_do_not(self):
        problems = row_violations([(10, 1), (10, 3), (30, 4)], 2, {10: 1, 20: 2}, lambda user: (422, None))
        self.assertEqual(problems, [
            "user 10 has two rows",
            "3 rows for a limit of 2",
            "user 10 was answered 200 with sequence 1 but the database has 3",
            "user 20 was answered 200 with sequence 2 but the database has None",
            "sequences are not 1..rows without a gap",
            "user 30 holds a row without a 200, and a retry answered 422, not 409 with it",
        ])


class FakeDatabase:
    def __init__(self, rows):
        self.rows_returned, self.queries = rows, []

    def rows(self, sql):
        self.queries.append(sql)
        return self.rows_returned


class ApiTests(unittest.TestCase):
    def test_parse_apply(self):
        self.assertEqual(parse_apply(200, b'{"sequence": 3, "issuedAt": "t"}'), (3, "t", None))
        already = b'{"type": "urn:coupongate:already-won", "coupon": {"sequence": 2, "issuedAt": "u"}}'
        self.assertEqual(parse_apply(409, already), (2, "u", "already-won"))
        self.assertEqual(parse_apply(422, b'{"type": "urn:coupongate:sold-out"}'), (None, None, "sold-out"))
        self.assertEqual(parse_apply(0, b""), (None, None, None))  # no answer


class RelayTests(unittest.TestCase):
    def reconcile(self, directory, text):
        """A stand-in for coupongate: `reconcile ...` prints `text`."""
        path = os.path.join(directory, "coupongate")
        with open(path, "w") as f:
            f.write(f"#!/bin/sh\necho '{text}'\n")
        os.chmod(path, 0o755)
        return path

    def test_drained(self):
        with tempfile.TemporaryDirectory() as directory:
            binary = self.reconcile(directory, NOTHING_IN_FLIGHT)
            database = FakeDatabase([("a", "7", "1"), ("b", "8", "1"), ("a", "9", "2")])
            supervised = []
            rows, undrained = drain(binary, ["--redis", "x"], database, ["a", "b"], timeout=10, supervise=lambda: supervised.append(1))
        self.assertEqual((rows, undrained), ({"a": [(7, 1), (9, 2)], "b": [(8, 1)]}, {}))
        self.assertEqual(len(supervised), 1)
        self.assertIn("campaign_id IN ('a','b')", database.queries[0])

    def test_not_drained_in_time(self):
        with tempfile.TemporaryDirectory() as directory:
            binary = self.reconcile(directory, "in flight (outbox, not yet in the database): 12")
            rows, undrained = drain(binary, [], FakeDatabase([]), ["a"], timeout=0.5)
        self.assertEqual(rows, {"a": []})
        self.assertEqual(list(undrained), ["a"])
        self.assertIn("not yet in the database): 12", undrained["a"])


class RedisClusterTests(unittest.TestCase):
    def test_hash_slots_as_redis_computes_them(self):
        # CLUSTER KEYSLOT's answers in the Redis documentation.
        self.assertEqual(hash_slot("foo"), 12182)
        self.assertEqual(hash_slot("somekey"), 11058)
        self.assertEqual(hash_slot("foo{hash_tag}"), hash_slot("{hash_tag}"))
        self.assertEqual(hash_slot("foo{hash_tag}"), 2515)
        # An empty hash tag is no tag: the whole key counts.
        self.assertNotEqual(hash_slot("foo{}{bar}"), hash_slot("bar"))

    def test_a_campaigns_keys_share_its_slot(self):
        self.assertEqual(campaign_slot("drop-1"), hash_slot("{c:drop-1}:issued"))
        self.assertEqual(campaign_slot("drop-1"), hash_slot("{c:drop-1}:outbox"))


class ScaleTests(unittest.TestCase):
    def test_the_documented_lb_configuration_is_the_template_filled_in(self):
        self.assertTrue(documented_conf_is_current(), "regenerate deploy/nginx/coupongate-lb.conf from its template")

    def test_render(self):
        text = render_lb_conf("127.0.0.1:9000", ["127.0.0.1:1", "127.0.0.1:2"], "off")
        lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        self.assertEqual(sum("127.0.0.1:1" in line for line in lines), 1)
        self.assertEqual(sum("127.0.0.1:2" in line for line in lines), 1)
        self.assertTrue(any("127.0.0.1:9000" in line for line in lines))
        self.assertFalse(any("@@" in line for line in lines))


if __name__ == "__main__":
    unittest.main()
