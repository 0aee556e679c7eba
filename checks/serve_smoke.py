"""End-to-end check of the real `coupongate serve` binary, as a user runs it.

Starts the binary on a free loopback port, runs a small drop with many
concurrent clients, sends SIGTERM in the middle of it, and checks that the
process exits cleanly and that every client that got a 200 holds a coupon
after a restart (nothing answered 200 was lost). Also checks start-up
errors and the generated admin token.

Usage: python3 -m checks.serve_smoke PATH_TO_BINARY
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness.checks import Checks
from harness.net import request
from harness.processes import Coupongate

Coupongate.binary = BINARY = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/coupongate"
check = Checks("serve smoke")


def start(data_dir, *flags, env=None):
    """serve on port 0 (info: the start-up line names the port), started."""
    return Coupongate("serve", "--port", "0", "--data-dir", data_dir, "--log-level", "info", *flags, env=env).start()


def main():
    with tempfile.TemporaryDirectory() as data_dir:
        print("serve smoke: bad settings are one-line errors", flush=True)
        for args, env, needle in [
            (["--port", "http"], {}, "--port"),
            ([], {"COUPONGATE_DEFAULT_LIMIT": "0"}, "COUPONGATE_DEFAULT_LIMIT"),
            (["--admin-token", "short"], {}, "--admin-token"),
        ]:
            result = subprocess.run([BINARY, "serve", "--data-dir", data_dir, *args], capture_output=True, text=True,
                                    env={**os.environ, **env}, timeout=60)
            message = (result.stderr + result.stdout).strip()
            check(result.returncode != 0, f"{args or env} should fail")
            check(needle in message and message.startswith("Error:"), f"{args or env} error names {needle}: {message!r}")

        print("serve smoke: a drop interrupted by SIGTERM", flush=True)
        server = start(data_dir, "--default-limit", "1000000")
        port = server.port
        check(any("Admin token (generated" in line for line in server.lines), "a generated admin token is printed at start")
        status, _, _ = request(port, "GET", "/health/ready")
        check(status == 200, f"ready answers 200, got {status}")

        answers = {}
        lock = threading.Lock()
        stop_at = threading.Event()

        def client(first_user):
            user = first_user
            while not stop_at.is_set():
                try:
                    status, _, body = request(port, "POST", f"/coupon/apply?userId={user}", timeout=15)
                except OSError:
                    return  # the server is shutting down; this apply got no answer
                with lock:
                    answers[user] = (status, body)
                user += 1000

        threads = [threading.Thread(target=client, args=(i + 1,)) for i in range(20)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        exit_code = server.kill(signal.SIGTERM)
        stop_at.set()
        for thread in threads:
            thread.join()
        check(exit_code == 0, f"serve exits 0 after SIGTERM, got {exit_code}")
        winners = {user: json.loads(body)["sequence"] for user, (status, body) in answers.items() if status == 200}
        bad = {status for status, _ in answers.values()} - {200, 422, 503}
        check(not bad, f"only 200, 422 or 503 during the drop, got {bad}")
        check(len(winners) > 0, "some applies were issued before SIGTERM")
        print(f"  {len(answers)} answers before shutdown, {len(winners)} issued", flush=True)

        print("serve smoke: restart on the same data directory", flush=True)
        server = start(data_dir, env={"COUPONGATE_ADMIN_TOKEN": "smoke-test-admin-token-1"})
        port = server.port
        _, _, body = request(port, "GET", "/campaigns/default")
        issued = json.loads(body)["issued"]
        check(issued == len(winners), f"issued after restart ({issued}) == 200s answered ({len(winners)})")
        for user, sequence in winners.items():
            status, _, body = request(port, "POST", f"/coupon/apply?userId={user}")
            held = json.loads(body).get("coupon", {})
            if status != 409 or held.get("sequence") != sequence:
                check(False, f"winner {user} gets 409 with sequence {sequence} after restart, got {status} {body!r}")
                break
        check(sorted(winners.values()) == list(range(1, len(winners) + 1)), "sequences are 1…issued with no gap")
        status, _, _ = request(port, "POST", "/admin/campaigns/default/reset",
                               headers={"Authorization": "Bearer smoke-test-admin-token-1"})
        check(status == 200, f"the environment's admin token works, got {status}")
        check(server.kill(signal.SIGINT) == 0, "serve exits 0 after SIGINT")

    check.finish()


if __name__ == "__main__":
    main()
