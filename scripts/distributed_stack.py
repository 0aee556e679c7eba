"""The distributed stack's processes for the end-to-end scripts: redis-server with
its AOF, coupongate serve and relay processes, PostgreSQL restarts, HTTP and /metrics."""
import collections
import http.client
import re
import signal
import subprocess
import threading
import time

from smoke_checks import free_port


def request(port, method, path, headers=None, timeout=10, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class Redis:
    def __init__(self, directory):
        self.directory, self.port, self.process = directory, free_port(), None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def kill(self):
        self.process.kill()
        self.process.wait()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"


class Coupongate:
    """A coupongate process; `serve` reports the port it listens on. Set `Coupongate.binary` first."""

    binary = ".build/debug/coupongate"

    def __init__(self, *args, serve=True):
        self.args, self.serve, self.port, self.process = list(args), serve, None, None

    def start(self):
        self.process = subprocess.Popen([Coupongate.binary, *self.args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        deadline = time.time() + 60
        while self.serve and time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit("coupongate exited:\n" + "".join(lines))
            lines.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
        # Keep the last lines, for a failure report.
        self.tail = collections.deque(lines, maxlen=200)
        threading.Thread(target=lambda: [self.tail.append(line) for line in self.process.stdout], daemon=True).start()
        return self

    def kill(self, sig=signal.SIGKILL):
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "hung"


def metric_values(port):
    """GET /metrics on a port: {'name{labels}': value} (the labels as written)."""
    _, _, body = request(port, "GET", "/metrics")
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def start_postgres(pg, pg_state, url):
    """Starts the halted PostgreSQL again and waits until it answers.

    pg_ctl has been seen to report a failed start for a server that then came
    up, so the start is judged by a query, and retried (start is idempotent).
    """
    deadline = time.time() + 60
    while time.time() < deadline:
        subprocess.run([pg, "start", pg_state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if subprocess.run(["psql", url, "-Atc", "SELECT 1"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit("PostgreSQL did not come back within 60 s")
