"""`coupongate loadtest --stack`: the seed's phases against whole stacks the command starts itself.

    python3 -m checks.loadtest_stacks PATH/TO/coupongate [--stacks postgres,mysql,kafka] [--duration-scale 0.02]

For each stack (postgres, mysql, kafka; the embedded default is checks.loadtest_smoke's): the four
phases, scaled down, exit 0; results.json names the stack and its processes; every phase holds its
invariants, the database of record held exactly the 200s once drained, and reports the CPU of every
process; afterwards no process the run started is left and its temporary folder is gone.
Then: SIGINT to a kafka stack run mid-phase stops everything it started (exit 130, folder removed);
--keep keeps the folder with every server's log; a missing server program is one line naming its
package.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness.checks import Checks
from harness.processes import alive, descendants

STACK_PROCESSES = {
    "postgres": ["generator", "serve 1", "serve 2", "relay", "redis-server", "postgres"],
    "mysql": ["generator", "serve 1", "serve 2", "relay", "redis-server", "mariadbd"],
    "kafka": ["generator", "serve 1", "serve 2", "relay", "consume", "redis-server", "mariadbd", "tansu"],
}


def start(binary, *args, env=None):
    """A loadtest run with its output in a file (read by `output`), its started processes followed."""
    log = tempfile.NamedTemporaryFile("w+", prefix="cg-loadtest-stack-", suffix=".log", delete=False)
    process = subprocess.Popen([binary, "loadtest", *args], stdout=log, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    process.log, process.seen = log.name, set()
    return process


def discard(process):
    """Ends the run if it still goes, and removes its output file."""
    if process.poll() is None:
        process.kill()
        process.wait()
    os.unlink(process.log)


def output(process):
    with open(process.log) as file:
        return file.read()


def follow(process, timeout, until=None):
    """Waits for the run to end (or for `until` to appear in its output), noting every descendant seen."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        process.seen.update(descendants(process.pid))
        if process.poll() is not None or (until and re.search(until, output(process))):
            return
        time.sleep(0.2)
    process.kill()
    raise TimeoutError(f"loadtest did not {'print ' + until if until else 'end'} within {timeout} s:\n{output(process)[-3000:]}")


def stack_folder(text):
    match = re.search(r"stack started in (\S+):", text)
    return match.group(1) if match else None


def check_nothing_left(check, process, what):
    left = [pid for pid in process.seen if alive(pid)]
    check(process.seen and not left, f"{what}: none of the {len(process.seen)} processes it started is left (alive: {left})")


def run_stack(check, binary, stack, scale, runs):
    """One stack's run; its reports stay in RUNS/STACK for the comparison."""
    out = os.path.join(runs, stack)
    process = None
    try:
        process = start(binary, "--stack", stack, "--duration-scale", str(scale), "--out", out)
        follow(process, timeout=900)
        text = output(process)
        check(process.returncode == 0, f"{stack}: loadtest --stack exits 0 (got {process.returncode}):\n{text[-3000:]}")
        folder = stack_folder(text)
        check(folder is not None and not os.path.exists(folder), f"{stack}: the stack's folder {folder} is removed")
        check_nothing_left(check, process, stack)
        with open(os.path.join(out, "results.json")) as file:
            results = json.load(file)
        check(results.get("stack") == {"name": stack, "processes": STACK_PROCESSES[stack]},
              f"{stack}: results.json names the stack and its processes: {results.get('stack')}")
        check([phase["name"] for phase in results["phases"]] == ["baseline", "rampup", "stress", "spike"], f"{stack}: the four phases")
        for phase in results["phases"]:
            name, invariants = f"{stack} {phase['name']}", phase["invariants"]
            check(not invariants["violations"], f"{name}: invariants hold: {invariants['violations']}")
            check(invariants.get("databaseRows") == invariants["ok200"] == invariants["limit"],
                  f"{name}: the database holds exactly the {invariants['ok200']} 200s ({invariants.get('databaseRows')} rows)")
            if stack == "kafka":
                check(invariants.get("topicEvents") == invariants.get("topicDistinctWinners") == invariants["ok200"],
                      f"{name}: the topic holds one event per winner ({invariants.get('topicEvents')} events, "
                      f"{invariants.get('topicDistinctWinners')} users, {invariants['ok200']} 200s)")
            else:
                check("topicEvents" not in invariants, f"{name}: no topic without Kafka")
            cpu = {entry["process"]: entry["seconds"] for entry in phase.get("cpu") or []}
            check(list(cpu) == STACK_PROCESSES[stack] and all(seconds >= 0 for seconds in cpu.values())
                  and cpu["serve 1"] > 0 and cpu["generator"] > 0, f"{name}: CPU for every process: {cpu}")
        with open(os.path.join(out, "report.md")) as file:
            report = file.read()
        check(f"Stack: {stack}" in report and "## Where the CPU went" in report and os.path.exists(os.path.join(out, "charts", "cpu.svg")),
              f"{stack}: report.md shows the stack and the CPU split, with its chart")
        print(f"loadtest --stack {stack}: " + ", ".join(f"{p['name']} {p['totals']['requestsPerSecond']:.0f}/s" for p in results["phases"]),
              flush=True)
    finally:
        if process:
            discard(process)


def compared(check, binary, runs, stacks):
    """`loadtest report` with every stack's results: the comparison beside them, the seed's row first."""
    files = [os.path.join(runs, stack, "results.json") for stack in stacks]
    result = subprocess.run([binary, "loadtest", "report", *files], capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"loadtest report of {len(files)} runs exits 0 (got {result.returncode}): {result.stderr[-1000:]}")
    path = os.path.join(runs, "comparison.md")
    text = open(path).read() if os.path.exists(path) else ""
    baseline = text[text.find("| baseline | seed |"):].split("\n")[:1 + len(stacks)]
    check([row.split("|")[2].strip() for row in baseline] == ["seed", *stacks],
          f"comparison.md: the baseline's seed row, then one row per stack: {baseline}")
    check("## Where the CPU went" in text and os.path.exists(os.path.join(runs, "charts", "comparison-cpu.svg")),
          "comparison.md: the CPU per role, with its chart")
    check(all(os.path.exists(os.path.join(runs, stack, "report.md")) for stack in stacks), "each run keeps its own report")


def interrupted(check, binary):
    out = tempfile.mkdtemp(prefix="cg-loadtest-sigint-")
    process = None
    try:
        process = start(binary, "--stack", "kafka", "--duration-scale", "0.2", "--out", out)
        # Mid-phase: the rampup has begun, every server and instance is running.
        follow(process, timeout=300, until=r"rampup: 10:")
        started = len(process.seen)
        process.send_signal(signal.SIGINT)
        follow(process, timeout=120)
        text = output(process)
        folder = stack_folder(text)
        check(process.returncode == 130, f"SIGINT mid-phase: exit 130 (got {process.returncode}):\n{text[-2000:]}")
        check(started >= 8, f"SIGINT came with the whole stack running ({started} processes)")
        check_nothing_left(check, process, "SIGINT mid-phase")
        check(folder is not None and not os.path.exists(folder), f"SIGINT mid-phase: the folder {folder} is removed")
    finally:
        if process:
            discard(process)
        shutil.rmtree(out, ignore_errors=True)


def kept(check, binary):
    out = tempfile.mkdtemp(prefix="cg-loadtest-keep-")
    folder, process = None, None
    try:
        process = start(binary, "--stack", "postgres", "--stages", "10:1s", "--keep", "--out", out)
        follow(process, timeout=300)
        text = output(process)
        folder = stack_folder(text)
        check(process.returncode == 0 and f"kept the stack's folder: {folder}" in text, f"--keep: exit 0 and the folder printed:\n{text[-2000:]}")
        logs = sorted(name for name in os.listdir(folder)) if folder and os.path.isdir(folder) else []
        check({"redis", "postgres", "serve-1.log", "serve-2.log", "relay.log"} <= set(logs), f"--keep: every server's log is kept: {logs}")
        check_nothing_left(check, process, "--keep")
    finally:
        if process:
            discard(process)
        shutil.rmtree(out, ignore_errors=True)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def missing_program(check, binary):
    result = subprocess.run([binary, "loadtest", "--stack", "postgres", "--stages", "1:1s"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PATH": "/nonexistent"})
    text = result.stdout + result.stderr
    check(result.returncode != 0 and "redis-server not found: install redis-server" in text,
          f"a missing redis-server is named with its package (exit {result.returncode}): {text[-500:]}")


def main():
    parser = argparse.ArgumentParser(prog="python3 -m checks.loadtest_stacks")
    parser.add_argument("binary")
    parser.add_argument("--stacks", default="postgres,mysql,kafka")
    parser.add_argument("--duration-scale", type=float, default=0.02)
    options = parser.parse_args()
    binary = os.path.abspath(options.binary)
    check = Checks("loadtest stacks")
    missing_program(check, binary)
    stacks = options.stacks.split(",")
    runs = tempfile.mkdtemp(prefix="cg-loadtest-stacks-")
    try:
        for stack in stacks:
            run_stack(check, binary, stack, options.duration_scale, runs)
        compared(check, binary, runs, stacks)
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    interrupted(check, binary)
    kept(check, binary)
    check.finish()


if __name__ == "__main__":
    sys.exit(main())
