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
        self.script = os.path.join(REPO, "servers", script)
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


# --- The scale-out stack's pieces (scripts/scale_stack.py, scripts/cluster_smoke.py) ---

def ensure_installed(packages):
    """Installs Debian packages with apt-get (as root, 'apt-get update' first) when their program
    is missing: `packages` maps a program to its package. The packages may start a system service
    on its default port (nginx, redis-server); it is stopped again: the scripts run their own."""
    import shutil
    missing = sorted({package for tool, package in packages.items() if not shutil.which(tool)})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"missing {', '.join(missing)}: as root run: apt-get update && apt-get install -y {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)
    for service in missing:
        subprocess.run(["service", service, "stop"], capture_output=True)


def hash_slot(key):
    """The Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash tag (the part between the
    first '{' and the next '}', when not empty) or of the whole key, modulo 16384."""
    data = key.encode() if isinstance(key, str) else key
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1:end]
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


def campaign_slot(campaign):
    """The hash slot of a campaign's keys in Redis (they share the hash tag {c:<id>})."""
    return hash_slot("{c:" + campaign + "}")


class RedisCluster:
    """A Redis Cluster run by servers/redis-cluster.sh in a state directory of its own: start,
    stop (deleting its data), and the faults the tests inject (kill a master, revive a node,
    reshard slots)."""

    def __init__(self, state, masters=3, replicas=1):
        self.state = os.path.join(state, "redis-cluster")
        self.script = os.path.join(REPO, "servers", "redis-cluster.sh")
        self.masters, self.replicas, self.seeds = masters, replicas, None

    def run(self, *args, timeout=600):
        result = subprocess.run([self.script, *args, self.state], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"redis-cluster.sh {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    def start(self):
        self.seeds = self.run("start", "--masters", str(self.masters), "--replicas", str(self.replicas)).splitlines()[-1]
        return self

    def stop(self):
        subprocess.run([self.script, "stop", self.state], capture_output=True)

    @property
    def flag(self):
        """The coupongate options naming this cluster."""
        return ["--redis-cluster", self.seeds]

    @property
    def url(self):
        return self.seeds

    def ports(self):
        """Every node's port, in start order."""
        return [int(line) for line in open(os.path.join(self.state, "ports")) if line.strip()]

    def nodes(self):
        """[(port, role)] as the nodes report now (ROLE), role 'master', 'replica' or 'down'."""
        nodes = []
        for port in self.ports():
            try:
                out = subprocess.run(["redis-cli", "-p", str(port), "role"], capture_output=True, text=True, timeout=5).stdout.split()
            except subprocess.TimeoutExpired:
                out = []
            role = {"master": "master", "slave": "replica"}.get(out[0] if out else "", "down")
            nodes.append((port, role))
        return nodes

    def masters_now(self):
        return [port for port, role in self.nodes() if role == "master"]

    def wait_ok(self, timeout=30):
        self.run("wait-ok", "--timeout", str(timeout), timeout=timeout + 30)

    def kill_master(self, number):
        """SIGKILLs the numberth live master (1-based, in start order); returns its port."""
        return int(self.run("kill-master", str(number)))

    def revive(self, port):
        self.run("revive", str(port))

    def reshard(self, from_port, to_port, slots):
        """Moves `slots` slots (from_port's lowest) to to_port; returns the script's summary line."""
        return self.run("reshard", str(from_port), str(to_port), str(slots))

    def slot_ranges(self):
        """{port of a master: [(first, last), ...]}, from CLUSTER NODES on a live node."""
        for port in self.ports():
            try:
                out = subprocess.run(["redis-cli", "-p", str(port), "cluster", "nodes"], capture_output=True, text=True, timeout=5).stdout
            except subprocess.TimeoutExpired:
                continue
            if not out.strip() or out.startswith(("Could not connect", "ERR")):
                continue
            owners = {}
            for line in out.splitlines():
                fields = line.split()
                if len(fields) < 8 or "master" not in fields[2].split(",") or "fail" in fields[2].split(","):
                    continue
                node_port = int(fields[1].split("@")[0].rpartition(":")[2])
                ranges = []
                for part in fields[8:]:
                    if part.startswith("["):
                        continue  # a slot being migrated or imported
                    first, _, last = part.partition("-")
                    ranges.append((int(first), int(last or first)))
                owners[node_port] = sorted(ranges)
            return owners
        raise RuntimeError("no node of the cluster answers")

    def owner_of(self, slot, ranges=None):
        """The port of the master serving `slot` (None if none does), from `ranges` (a
        slot_ranges() snapshot) or from the cluster now."""
        for port, owned in (ranges if ranges is not None else self.slot_ranges()).items():
            if any(first <= slot <= last for first, last in owned):
                return port
        return None

    def pids(self):
        """{port: pid} of the nodes that are running."""
        base = open(os.path.join(self.state, "dir")).read().strip()
        pids = {}
        for port in self.ports():
            try:
                pid = int(open(os.path.join(base, str(port), "redis.pid")).read())
                os.kill(pid, 0)
                pids[port] = pid
            except (OSError, ValueError):
                pass
        return pids


NGINX_MAIN_CONF = """# nginx for the local scale-out stack (scripts/distributed_stack.py, Nginx): its own prefix,
# pid file, logs and temporary files in {dir}, never the system's.
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;

events {{
    worker_connections 8192;
}}

http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type application/octet-stream;

    include {dir}/{site};
}}
"""


class Nginx:
    """nginx as a non-system instance, in `directory`: a main configuration written here that
    includes `site` (an http-level file, such as a filled-in deploy/nginx/coupongate-lb.conf),
    its own pid file, error log and temporary directories; run in the foreground as our child
    (`nginx -p DIR -c DIR/nginx.conf`, 'daemon off')."""

    def __init__(self, directory, site_text, site="coupongate-lb.conf", workers=1, port=None):
        self.directory, self.site, self.workers, self.port, self.process = directory, site, workers, port, None
        os.makedirs(directory, exist_ok=True)
        if os.geteuid() == 0:
            # As root the workers run as 'nobody': they must reach the temporary directories.
            os.chmod(directory, 0o755)
            parent = os.path.dirname(directory)
            os.chmod(parent, os.stat(parent).st_mode | 0o111)
        with open(os.path.join(directory, site), "w") as f:
            f.write(site_text)
        self.conf = os.path.join(directory, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_MAIN_CONF.format(dir=directory, workers=workers, site=site))

    def test(self):
        """`nginx -t` on the configuration: (ok, output)."""
        result = subprocess.run(["nginx", "-t", "-p", self.directory, "-c", self.conf], capture_output=True, text=True)
        return result.returncode == 0, result.stdout + result.stderr

    def start(self, timeout=15):
        log = open(os.path.join(self.directory, "out.log"), "w")
        self.process = subprocess.Popen(["nginx", "-p", self.directory, "-c", self.conf], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nginx exited:\n" + self.log_tail())
            if self.port is None:
                return self
            try:
                request(self.port, "GET", "/nginx-started", timeout=1)
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not answer within %d s:\n%s" % (timeout, self.log_tail()))

    def log_tail(self, lines=20):
        text = ""
        for name in ("out.log", "error.log"):
            path = os.path.join(self.directory, name)
            if os.path.exists(path):
                text += "".join(open(path).readlines()[-lines:])
        return text

    def reload(self):
        self.process.send_signal(signal.SIGHUP)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pids(self):
        """The master's and its workers' pids."""
        if not self.process or self.process.poll() is not None:
            return []
        return [self.process.pid, *children(self.process.pid)]


def children(pid):
    """The pids of a process's direct children, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry))
    return found


def cpu_seconds(pid, with_reaped_children=False):
    """User + system CPU seconds a process has used (/proc/PID/stat), 0 if it is gone; with
    `with_reaped_children`, also its children that exited and were waited for."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the ')': state is field 3 of the file, so utime (14) is index 11 here.
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def row_violations(rows, limit, winners, retry):
    """The database side of one campaign's invariants: `rows` are (user, sequence) pairs from the
    database, `winners` maps each user answered 200 to the sequence it was answered, and
    `retry(user)` applies again, returning (status, the sequence of the coupon it names or None).
    Every 200 has its row with its sequence; no user has two rows; rows <= limit; sequences are
    1..rows without a gap; a row without a 200 (an answer lost in flight) answers 409 with it."""
    problems = []
    by_user = {}
    for user, sequence in rows:
        if user in by_user:
            problems.append(f"user {user} has two rows")
        by_user[user] = sequence
    if len(rows) > limit:
        problems.append(f"{len(rows)} rows for a limit of {limit}")
    for user, sequence in winners.items():
        if by_user.get(user) != sequence:
            problems.append(f"user {user} was answered 200 with sequence {sequence} but the database has {by_user.get(user)}")
    if sorted(s for _, s in rows) != list(range(1, len(rows) + 1)):
        problems.append("sequences are not 1..rows without a gap")
    for user in [u for u in by_user if u not in winners]:
        status, sequence = retry(user)
        if status != 409 or sequence != by_user[user]:
            problems.append(f"user {user} holds a row without a 200, and a retry answered {status}, not 409 with it")
    return problems
