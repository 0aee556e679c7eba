"""What the end-to-end scripts share: the pass/fail tally, a free port, a running `coupongate serve`."""
import contextlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request


class Checks:
    """Counts checks; prints each failure as it happens and the closing 'N passed, N failed' line."""

    def __init__(self, name):
        self.name, self.passed, self.failures = name, 0, []

    def __call__(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failures.append(message)
            print(f"  FAIL {message}", flush=True)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)


def free_port():
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(binary, data_dir, *flags, timeout=30):
    """`coupongate serve` on a free loopback port, ready to answer; yields the port and
    stops the server with SIGTERM afterwards."""
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--data-dir", data_dir, "--log-level", "warning", *flags],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit(f"coupongate serve on port {port} did not become ready")
                time.sleep(0.1)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
