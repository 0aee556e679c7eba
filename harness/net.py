"""A free loopback port, one HTTP request, a /metrics scrape, and waiting until something is ready."""
import http.client
import socket
import time


def free_port():
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, headers=None, timeout=10, body=None):
    """One request to 127.0.0.1:port on a connection of its own: (status, {header: value}, body).
    A connection that fails raises OSError (or http.client.HTTPException)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def metric_values(port):
    """GET /metrics on a port: {'name{labels}': value} (the labels as written)."""
    _, _, body = request(port, "GET", "/metrics")
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


class NotReady(RuntimeError):
    """What wait_until raises: the thing did not come up, or its process exited first."""


def wait_until(what, probe, timeout=30, interval=0.1, process=None, details=None):
    """Calls `probe` every `interval` seconds until it returns something true, and returns that.
    An OSError from it counts as not yet. Raises NotReady after `timeout` seconds, or at once when
    `process` (a Popen) has exited; `details()`, when given, is added to the message (a log's
    tail)."""
    deadline = time.time() + timeout
    last = None
    while True:
        if process is not None and process.poll() is not None:
            reason = f"{what}: the process exited ({process.returncode})"
            break
        try:
            result = probe()
            if result:
                return result
        except OSError as error:
            last = error
        if time.time() > deadline:
            reason = f"{what} was not ready within {timeout:g} s" + (f" ({last})" if last else "")
            break
        time.sleep(interval)
    raise NotReady(reason + (":\n" + details() if details else ""))
