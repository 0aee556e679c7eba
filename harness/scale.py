"""The scale-out stack on one machine, on loopback: a Redis Cluster (servers/redis-cluster.sh,
3 masters with a replica each), PostgreSQL (servers/postgres-server.sh), K `coupongate serve`
instances and 2 `coupongate relay` processes on the cluster, and nginx in front of the instances
with deploy/nginx/coupongate-lb.conf.template filled in (its own prefix, configuration, pid file
and logs in the state directory, not the system's). Every port is a free one; everything started
is stopped afterwards, also when the start fails.

    with ScaleStack(binary) as stack:        # started, nginx answers /health/ready 200
        request(stack.port, "POST", "/campaigns/x/apply?userId=1")

checks/cluster_smoke.py drives it; `python3 -m checks.scale_stack BINARY` starts it and waits for
Ctrl-C. With single_redis it has one plain redis-server (AOF, appendfsync always) instead of the
cluster, and gives the instances --redis URL: the single-node comparison. nginx, redis-server and
PostgreSQL are installed with apt-get (as root) when missing.
"""
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import time

from harness import REPO
from harness.net import NotReady, free_port, request, wait_until
from harness.packages import ensure_installed
from harness.processes import Coupongate
from harness.redis_cluster import RedisCluster
from harness.servers import Database, Nginx, Redis

TOKEN = "scale-stack-admin-token-0123456789"
TEMPLATE = os.path.join(REPO, "deploy", "nginx", "coupongate-lb.conf.template")
DOCUMENTED = os.path.join(REPO, "deploy", "nginx", "coupongate-lb.conf")
# The upstream servers' fail_timeout in the template, in seconds.
FAIL_TIMEOUT = float(re.search(r"fail_timeout=(\d+)s", pathlib.Path(TEMPLATE).read_text()).group(1))
# What deploy/nginx/coupongate-lb.conf is filled in with.
EXAMPLE = {"listen": "80", "upstreams": ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"],
           "access_log": "/var/log/nginx/coupongate-access.log"}


def render_lb_conf(listen, upstreams, access_log, template=TEMPLATE):
    """The load-balancer configuration: the template with @@LISTEN@@ and @@ACCESS_LOG@@ filled in
    and its @@UPSTREAM@@ line repeated once per instance address. Comment lines are left as they
    are (they name the placeholders)."""
    lines = []
    for line in pathlib.Path(template).read_text().splitlines(keepends=True):
        if line.lstrip().startswith("#"):
            lines.append(line)
        elif "@@UPSTREAM@@" in line:
            lines.extend(line.replace("@@UPSTREAM@@", address) for address in upstreams)
        else:
            if access_log == "off":  # 'access_log off;' takes no format
                line = re.sub(r"@@ACCESS_LOG@@\s+[^;]*;", "off;", line)
            lines.append(line.replace("@@LISTEN@@", listen).replace("@@ACCESS_LOG@@", access_log))
    text = "".join(lines)
    if "@@" in "".join(line for line in lines if not line.lstrip().startswith("#")):
        raise SystemExit(f"{template}: a placeholder was left unfilled")
    return text


def documented_conf_is_current():
    """Whether deploy/nginx/coupongate-lb.conf is the template filled in with EXAMPLE."""
    return pathlib.Path(DOCUMENTED).read_text() == render_lb_conf(**EXAMPLE)


def supports_redis_cluster(binary):
    """Whether `binary serve` takes --redis-cluster."""
    result = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True)
    return "--redis-cluster" in result.stdout + result.stderr


class ScaleStack:
    """The stack; `start()` (or `with`) starts it and waits until nginx answers /health/ready
    200, `stop()` stops everything (safe to call twice)."""

    def __init__(self, binary, state=None, instances=3, relays=2, single_redis=False, masters=3, replicas=1,
                 redis_wait_replicas=0, database="postgres", token=TOKEN, access_log=True, nginx_workers=1, serve_args=()):
        Coupongate.binary = binary
        self.binary = binary
        self.own_state = state is None
        self.state = state or tempfile.mkdtemp(prefix="cg-scale-")
        os.makedirs(self.state, exist_ok=True)
        self.instances, self.relay_count = instances, relays
        self.single_redis, self.masters, self.replicas = single_redis, masters, replicas
        self.redis_wait_replicas, self.token, self.access_log = redis_wait_replicas, token, access_log
        self.nginx_workers, self.serve_args = nginx_workers, list(serve_args)
        self.database = Database(database, self.state)
        self.redis = None
        self.apis, self.relays, self.spare = [], [], []
        self.nginx, self.port = None, None

    # --- starting -------------------------------------------------------------------------------

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        ensure_installed({"nginx": "nginx", "redis-server": "redis-server", "redis-cli": "redis-tools"})
        if not self.single_redis and not supports_redis_cluster(self.binary):
            raise SystemExit(f"{self.binary} serve has no --redis-cluster option yet: use --single-redis")
        if self.single_redis:
            directory = os.path.join(self.state, "redis")
            os.makedirs(directory, exist_ok=True)
            self.redis = Redis(directory).start()
        else:
            self.redis = RedisCluster(self.state, self.masters, self.replicas).start()
        self.database.start()
        for _ in range(self.instances):
            self.apis.append(self.start_api())
        for _ in range(self.relay_count):
            self.relays.append(self.start_relay())
        self.start_nginx()
        self.wait_ready()

    @property
    def redis_flag(self):
        return ["--redis", self.redis.url] if self.single_redis else self.redis.flag

    @property
    def common(self):
        """The options naming Redis and the database of record, as serve, relay and reconcile take them."""
        return [*self.redis_flag, *self.database.flag]

    def serve_command(self, port=0, redis_wait_replicas=None):
        wait = self.redis_wait_replicas if redis_wait_replicas is None else redis_wait_replicas
        extra = ["--redis-wait-replicas", str(wait)] if wait else []
        return ["serve", "--port", str(port), *self.common, "--admin-token", self.token, "--log-level", "info", *extra, *self.serve_args]

    def start_api(self, port=0, redis_wait_replicas=None):
        return Coupongate(*self.serve_command(port, redis_wait_replicas)).start()

    def start_relay(self):
        return Coupongate("relay", *self.common, "--claim-after", "5", "--log-level", "info", announces_port=False).start()

    def restart_apis(self, redis_wait_replicas=None):
        """Restarts the instances one at a time on their ports (SIGTERM: graceful), e.g. with
        another --redis-wait-replicas; nginx keeps its configuration and passes requests to
        the others meanwhile. After each, it waits until the instance is ready and then nginx's
        fail_timeout, so that nginx has taken it back before the next one stops."""
        if redis_wait_replicas is not None:
            self.redis_wait_replicas = redis_wait_replicas
        for index, api in enumerate(self.apis):
            api.kill(signal.SIGTERM)
            self.spare.append(api)
            self.apis[index] = self.start_api(api.port)
            self.wait_ready()
            time.sleep(FAIL_TIMEOUT + 0.5)

    def start_nginx(self):
        directory = os.path.join(self.state, "nginx")
        for _ in range(5):
            self.port = free_port()
            access_log = os.path.join(directory, "access.log") if self.access_log else "off"
            site = render_lb_conf(f"127.0.0.1:{self.port}", [f"127.0.0.1:{api.port}" for api in self.apis], access_log)
            self.nginx = Nginx(directory, site, workers=self.nginx_workers, port=self.port)
            try:
                self.nginx.start()
                return
            except NotReady as error:
                if "Address already in use" not in str(error):
                    raise
        raise RuntimeError("nginx could not bind a free port")

    def wait_ready(self, timeout=60):
        """Until nginx answers /health/ready 200 and every instance does too (fails at once when a
        process of the stack exited)."""
        def ready():
            self.check_alive()
            return all(request(port, "GET", "/health/ready", timeout=2)[0] == 200 for port in [self.port] + [a.port for a in self.apis])

        wait_until("the stack (GET /health/ready through nginx)", ready, timeout)

    def check_alive(self):
        for process in self.apis + self.relays:
            if process.process.poll() is not None:
                raise RuntimeError(f"coupongate {process.args[0]} exited ({process.process.returncode}):\n" + "".join(list(process.tail)[-30:]))
        if self.nginx and self.nginx.process.poll() is not None:
            raise RuntimeError("nginx exited:\n" + self.nginx.log_tail())

    # --- looking at it ----------------------------------------------------------------------------

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def redis_pids(self):
        if self.single_redis:
            return {self.redis.port: self.redis.process.pid} if self.redis.process.poll() is None else {}
        return self.redis.pids()

    def describe(self):
        if self.single_redis:
            redis = f"one redis-server   {self.redis.url}"
        else:
            redis = f"Redis Cluster ({self.masters} masters x {self.replicas} replica(s)), seeds {self.redis.seeds}"
        lines = [f"balancer      {self.url}   (nginx, configuration {self.nginx.directory}/coupongate-lb.conf)"]
        lines += [f"instance {i + 1}    http://127.0.0.1:{api.port}" for i, api in enumerate(self.apis)]
        lines += [f"relays        {len(self.relays)}",
                  f"redis         {redis}",
                  f"{self.database.kind:<13} {self.database.url}",
                  f"admin token   {self.token}",
                  f"state         {self.state}"]
        return "\n".join(lines)

    # --- stopping -------------------------------------------------------------------------------

    def stop(self):
        if self.nginx:
            self.nginx.stop()
        # SIGTERM to all at once (each finishes its requests in flight), then wait for each.
        running = [p for p in self.apis + self.relays + self.spare if p.process and p.process.poll() is None]
        for process in running:
            process.process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.process.kill()
                process.process.wait()
        if self.redis is not None:
            if self.single_redis:
                if self.redis.process and self.redis.process.poll() is None:
                    self.redis.kill()
            else:
                self.redis.stop()
        self.database.stop()
        if self.own_state:
            subprocess.run(["rm", "-rf", self.state])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
