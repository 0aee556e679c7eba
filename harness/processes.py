"""coupongate processes, `coupongate serve` on a free port for a `with` block, a process's children."""
import collections
import contextlib
import os
import pathlib
import re
import signal
import subprocess
import threading
import time

from harness.net import free_port, request, wait_until


class Coupongate:
    """A coupongate process (serve, relay, ...), its output merged and drained into `tail` (the
    last 200 lines, for a failure report). With `announces_port`, start() waits for serve's
    'listening on' line, which names the port (it is logged at --log-level info), and keeps the
    lines up to it in `lines`. Set `Coupongate.binary` first, or pass `binary`."""

    binary = ".build/debug/coupongate"

    def __init__(self, *args, announces_port=True, env=None, binary=None):
        self.args, self.announces_port, self.env = list(args), announces_port, env
        self.binary = binary or Coupongate.binary
        self.port, self.process, self.lines = None, None, []
        self.tail = collections.deque(maxlen=200)

    def start(self, timeout=60):
        self.process = subprocess.Popen([self.binary, *self.args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env={**os.environ, **(self.env or {})})
        deadline = time.time() + timeout
        while self.announces_port and self.port is None:
            line = self.process.stdout.readline() if time.time() < deadline else ""
            if not line:
                self.process.kill()
                self.process.wait()
                self.process.stdout.close()
                raise RuntimeError(f"coupongate {self.args[0]} did not start:\n" + "".join(self.lines))
            self.lines.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
        self.tail.extend(self.lines)
        # Keep draining the output, so the process never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self):
        with self.process.stdout:
            for line in self.process.stdout:
                self.tail.append(line)

    def wait_ready(self, timeout=30):
        """Until GET /health/ready answers 200 (fails at once if the process exits)."""
        wait_until(f"coupongate {self.args[0]} on port {self.port}",
                   lambda: request(self.port, "GET", "/health/ready", timeout=1)[0] == 200, timeout,
                   process=self.process, details=lambda: "".join(list(self.tail)[-30:]))
        return self

    def kill(self, sig=signal.SIGKILL):
        """Sends `sig` and waits up to 30 s: the exit status, or 'hung' (then it is SIGKILLed)."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "hung"


@contextlib.contextmanager
def serving(binary, data_dir, *flags, timeout=30):
    """`coupongate serve` (embedded mode) on a free loopback port, ready to answer; yields the port
    and stops the server with SIGTERM afterwards. At --log-level warning, so it logs next to
    nothing under load; the port is picked here, since that level has no 'listening on' line."""
    port = free_port()
    server = Coupongate("serve", "--port", str(port), "--data-dir", data_dir, "--log-level", "warning", *flags,
                        announces_port=False, binary=binary).start()
    server.port = port
    try:
        server.wait_ready(timeout)
        yield port
    finally:
        server.kill(signal.SIGTERM)


def descendants(pid):
    """The pids of a process's children, their children and so on, from /proc."""
    found, queue = [], children(pid)
    while queue:
        child = queue.pop()
        found.append(child)
        queue += children(child)
    return found


def alive(pid):
    """Whether `pid` runs (a zombie does not count)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def children(pid):
    """The pids of a process's direct children, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry))
    return found
