"""The monitoring stack, checked for real on loopback:

    python3 -m checks.monitoring_check PATH/TO/coupongate [--screenshot docs/dashboard.png]

- `coupongate serve` under a short load from `coupongate loadtest`;
- the live dashboard (/dashboard) in headless Chromium, twice during the load:
  it says "live", shows numbers, and the applies counter moved between the two;
- Prometheus (Debian's `prometheus`, installed with apt-get if missing) with
  deploy/prometheus/prometheus.yml pointed at that server: the target is up, a
  CouponGate series is queryable, and every query of the Grafana dashboard
  (deploy/grafana/coupongate.json) is valid PromQL that returns data;
- InfluxDB 1.x (Debian's `influxdb`): the k6 runner with INFLUX_URL streams
  into it, and the k6 measurements land in the database, as in the seed.

Every server listens on 127.0.0.1 on a free port and is stopped at the end.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from harness import REPO
from harness.checks import Checks
from harness.chromium import headless
from harness.net import free_port, wait_until
from harness.packages import ensure_installed
from harness.processes import serving

TOKEN = "monitoring-check-token-0123456789"


def get(url, data=None, timeout=5):
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=timeout) as response:
        return response.read().decode()


def dashboard_numbers(page):
    dom = subprocess.run([*headless("--virtual-time-budget=2500"), "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout

    def text(element_id):
        match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
        return match.group(1) if match else None

    issued = re.findall(r'data-campaign="default".*?class="issued">([^<]*)<', dom)
    return {"status": text("status"), "total": text("applies-total"), "p99": text("p99"),
            "rate": text("rps-total"), "issued": issued[0] if issued else None}


def number(text):
    try:
        return float(text.replace(",", ""))
    except (AttributeError, ValueError):
        return None


def check_dashboard(check, binary, port, work, screenshot):
    page = f"http://127.0.0.1:{port}/dashboard"
    load = subprocess.Popen([binary, "loadtest", "--stages", "30:12s", "--url", f"http://127.0.0.1:{port}",
                             "--admin-token", TOKEN, "--out", os.path.join(work, "dashboard-load")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        first = dashboard_numbers(page)
        time.sleep(2)
        second = dashboard_numbers(page)
        check(first["status"] == "live" and second["status"] == "live", f"dashboard status {first['status']!r}, {second['status']!r}")
        a, b = number(first["total"]), number(second["total"])
        check(a is not None and b is not None and b > a, f"the dashboard's applies did not move: {first['total']} then {second['total']}")
        check(number(second["rate"]) is not None and number(second["rate"]) > 0, f"dashboard applies/s {second['rate']!r}")
        check(number(second["p99"]) is not None, f"dashboard P99 {second['p99']!r}")
        check(second["issued"] == "100", f"dashboard issued for 'default': {second['issued']!r}")
        if screenshot:
            subprocess.run([*headless("--hide-scrollbars"),
                            "--virtual-time-budget=10000", "--window-size=1100,560", f"--screenshot={os.path.abspath(screenshot)}",
                            page], capture_output=True, timeout=120)
            check(os.path.exists(screenshot), f"no screenshot at {screenshot}")
    finally:
        load.wait(timeout=120)


def check_prometheus(check, port, work):
    prometheus_port = free_port()
    with open(os.path.join(REPO, "deploy/prometheus/prometheus.yml")) as file:
        config = file.read().replace('"127.0.0.1:8080"', f'"127.0.0.1:{port}"')
    config_path = os.path.join(work, "prometheus.yml")
    with open(config_path, "w") as file:
        file.write(config)
    base = f"http://127.0.0.1:{prometheus_port}"
    server = subprocess.Popen(["prometheus", f"--config.file={config_path}", f"--storage.tsdb.path={work}/tsdb",
                               f"--web.listen-address=127.0.0.1:{prometheus_port}"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "prometheus.log"), "w"))
    try:
        def target_up():
            targets = json.loads(get(f"{base}/api/v1/targets"))["data"]["activeTargets"]
            return targets if targets and targets[0]["health"] == "up" else None

        targets = wait_until("Prometheus' CouponGate target", target_up, 60, interval=0.3, process=server)
        check(targets[0]["labels"]["job"] == "coupongate", f"target labels {targets[0]['labels']}")

        # A little traffic, then enough scrapes for the 10 s rates of the Grafana queries.
        for user in range(1, 301):
            try:
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/coupon/apply?userId={user}",
                                                              method="POST"), timeout=5)
            except urllib.error.HTTPError:
                pass  # 422 sold out: still an apply
        time.sleep(4)

        def query(expr):
            answer = json.loads(get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
            return answer["status"], answer["data"]["result"]

        status, result = query('coupongate_applies_total{outcome="sold_out"}')
        check(status == "success" and result and float(result[0]["value"][1]) >= 200,
              f"coupongate_applies_total in Prometheus: {status} {result}")
        with open(os.path.join(REPO, "deploy/grafana/coupongate.json")) as file:
            dashboard = json.load(file)
        exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
        check(len(exprs) >= 6, f"only {len(exprs)} Grafana queries")
        for expr in exprs:
            status, result = query(expr)
            check(status == "success" and len(result) > 0, f"Grafana query returns nothing: {expr} -> {status} {result}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def check_influx(check, binary, port, work):
    influx_port, rpc_port = free_port(), free_port()
    config_path = os.path.join(work, "influxdb.conf")
    with open(config_path, "w") as file:
        file.write(f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{work}/influx/meta"
[data]
  dir = "{work}/influx/data"
  wal-dir = "{work}/influx/wal"
[http]
  bind-address = "127.0.0.1:{influx_port}"
  log-enabled = false
""")
    base = f"http://127.0.0.1:{influx_port}"
    server = subprocess.Popen(["influxd", "-config", config_path], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(work, "influxd.log"), "w"))
    try:
        wait_until("influxd", lambda: urllib.request.urlopen(f"{base}/ping", timeout=1).status == 204, 60, interval=0.3, process=server)
        get(f"{base}/query", data=urllib.parse.urlencode({"q": "CREATE DATABASE k6"}).encode())
        env = dict(os.environ, ADMIN_TOKEN=TOKEN, BASE_URL=f"http://127.0.0.1:{port}", DURATION_SCALE="0.05",
                   OUT_DIR=os.path.join(work, "k6-influx"), INFLUX_URL=f"{base}/k6", COUPONGATE=binary)
        done = subprocess.run([os.path.join(REPO, "loadtest/run-k6.sh"), "baseline"], capture_output=True, text=True,
                              env=env, timeout=600)
        check(done.returncode == 0, f"run-k6.sh with INFLUX_URL exited {done.returncode}: {done.stderr[-1500:]}")
        time.sleep(2)  # k6 flushes to InfluxDB every second
        answer = json.loads(get(f"{base}/query?" + urllib.parse.urlencode({"db": "k6", "q": "SHOW MEASUREMENTS"})))
        names = {row[0] for series in answer["results"][0].get("series", []) for row in series["values"]}
        check({"http_reqs", "http_req_duration"} <= names, f"k6 measurements in InfluxDB: {sorted(names)}")
        answer = json.loads(get(f"{base}/query?" + urllib.parse.urlencode({"db": "k6", "q": "SELECT count(value) FROM http_reqs"})))
        series = answer["results"][0].get("series", [])
        count = series[0]["values"][0][1] if series else 0
        check(count > 100, f"InfluxDB holds {count} http_reqs points")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main():
    binary = sys.argv[1]
    screenshot = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else None
    # Debian's packages; they may start system services on their default ports, which are stopped again.
    ensure_installed({"prometheus": "prometheus", "influxd": "influxdb", "chromium": "chromium"})
    check = Checks("monitoring check")
    work = tempfile.mkdtemp(prefix="coupongate-monitoring-")
    try:
        with serving(binary, os.path.join(work, "data"), "--admin-token", TOKEN) as port:
            check_dashboard(check, binary, port, work, screenshot)
            check_prometheus(check, port, work)
            check_influx(check, binary, port, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check.finish()


if __name__ == "__main__":
    main()
