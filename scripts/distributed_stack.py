"""The distributed stack's processes for the end-to-end scripts: redis-server with
its AOF, coupongate serve and relay processes, the database of record (PostgreSQL or
MariaDB) and its restarts, HTTP and /metrics."""
import collections
import http.client
import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse

from smoke_checks import free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


class Database:
    """The database of record, PostgreSQL or MariaDB, run by its script in scripts/ in a state
    directory of its own: start, halt (keeping the data), resume, stop (deleting it), and queries
    through the server's own command-line client."""

    KINDS = ("postgres", "mysql")

    def __init__(self, kind, state):
        if kind not in self.KINDS:
            raise SystemExit(f"unknown database '{kind}'; use one of {', '.join(self.KINDS)}")
        self.kind = kind
        self.state = os.path.join(state, kind)
        script = "postgres-server.sh" if kind == "postgres" else "mariadb-server.sh"
        self.script = os.path.join(REPO, "scripts", script)
        self.url = None

    @property
    def name(self):
        return "PostgreSQL" if self.kind == "postgres" else "MariaDB"

    def start(self):
        subprocess.run([self.script, "start", self.state], check=True, stdout=subprocess.DEVNULL)
        url_file = "postgres.url" if self.kind == "postgres" else "mysql.url"
        self.url = open(os.path.join(self.state, url_file)).read().strip()
        return self

    @property
    def flag(self):
        """The coupongate options naming this database of record."""
        return ["--postgres" if self.kind == "postgres" else "--mysql", self.url]

    def halt(self):
        subprocess.run([self.script, "halt", self.state], check=True, stdout=subprocess.DEVNULL)

    def resume(self):
        """Starts the halted server again and waits until it answers.

        pg_ctl has been seen to report a failed start for a server that then came up, so the
        start is judged by a query, and retried (start is idempotent)."""
        deadline = time.time() + 60
        while time.time() < deadline:
            subprocess.run([self.script, "start", self.state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if subprocess.run(self.client() + self.command("SELECT 1"), capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        raise SystemExit(f"{self.name} did not come back within 60 s")

    def stop(self):
        subprocess.run([self.script, "stop", self.state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client(self):
        """The command-line client, connected, printing bare rows."""
        if self.kind == "postgres":
            return ["psql", self.url, "-At", "-F", "\t"]
        url = urllib.parse.urlsplit(self.url)
        return ["mariadb", "-h", url.hostname, "-P", str(url.port), "-u", urllib.parse.unquote(url.username),
                f"-p{urllib.parse.unquote(url.password or '')}", "-D", url.path.lstrip("/"), "-N", "-B", "-n"]

    def command(self, sql):
        return ["-c", sql] if self.kind == "postgres" else ["-e", sql]

    def rows(self, sql):
        """The rows of a query, as tuples of strings."""
        out = subprocess.run(self.client() + self.command(sql), capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def lock_coupons(self):
        """Holds an exclusive lock on the coupons table until release(); returns the session."""
        session = subprocess.Popen(self.client(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.kind == "postgres":
            session.stdin.write("BEGIN; LOCK TABLE coupons IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
        else:
            session.stdin.write("LOCK TABLES coupons WRITE; SELECT 'locked';\n")
        session.stdin.flush()
        while "locked" not in session.stdout.readline():
            pass
        return session

    def release(self, session):
        session.communicate("COMMIT;\n" if self.kind == "postgres" else "UNLOCK TABLES;\n", timeout=30)
