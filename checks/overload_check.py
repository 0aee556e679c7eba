"""Hostile clients against the real `coupongate serve` binary (embedded default).

- slowloris: 2,000 sockets trickle a request head one piece at a time; real
  clients meanwhile get every answer within a second, and the server cuts
  the trickling sockets off once --header-timeout (2 s here) has passed;
- keep-alive: a connection idle past the header timeout still serves its
  next request (idle connections are the idle timeout's business);
- accept burst: 1,000 new connections opened within one second, each sending
  one request: every one is accepted and answered, none times out;
- oversized input: a header list larger than the decoder's limit and an admin
  body over its limit are refused (431/400 or a closed connection, and 413),
  never a 5xx, and the server keeps answering.

Usage: python3 -m checks.overload_check PATH_TO_COUPONGATE
"""
import asyncio
import sys
import tempfile
import time

from harness.checks import Checks
from harness.processes import serving

BINARY = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/coupongate"
TOKEN = "overload-check-admin-token"
SLOWLORIS = 2000
BURST = 1000
check = Checks("overload check")


async def one_request(port, raw, timeout):
    """Opens a connection, sends `raw`, returns (status, seconds) or (None, seconds) on failure."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        writer.write(raw)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        writer.close()
        parts = line.split()
        return (int(parts[1]) if len(parts) > 1 else None), time.monotonic() - started
    except (OSError, asyncio.TimeoutError):
        return None, time.monotonic() - started


def get(path):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


async def slowloris(port):
    sockets = []
    for index in range(SLOWLORIS):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            break
        writer.write(f"POST /coupon/apply?userId={index + 1} HTTP/1.1\r\nHost: x\r\n".encode())
        sockets.append(writer)
    check(len(sockets) == SLOWLORIS, f"{SLOWLORIS} slowloris sockets open ({len(sockets)})")
    print(f"overload check: {len(sockets)} slowloris sockets trickle their heads", flush=True)

    async def trickle():
        for piece in range(8):  # 4 s of trickling, past the 2 s header timeout
            for writer in sockets:
                if not writer.is_closing():
                    writer.write(f"X-Slow-{piece}: 1\r\n".encode())
            await asyncio.sleep(0.5)

    trickling = asyncio.create_task(trickle())
    latencies, statuses = [], []
    for index in range(200):
        status, seconds = await one_request(port, get("/health/live") if index % 2 else
                                            f"POST /coupon/apply?userId={10_000 + index} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), 5)
        statuses.append(status)
        latencies.append(seconds)
        await asyncio.sleep(0.01)
    check(all(s in (200, 409, 422) for s in statuses), f"real clients are answered during the slowloris: {sorted(set(map(str, statuses)))}")
    check(max(latencies) < 1.0, f"every real request answered within 1 s (slowest {max(latencies):.3f} s)")
    await trickling
    # The server closed them: asyncio marks a transport closing once the peer's FIN or RST arrives.
    await asyncio.sleep(0.2)
    closed = sum(1 for writer in sockets if writer.transport.is_closing())
    check(closed >= SLOWLORIS * 0.99, f"the server cut off the trickling sockets after the header timeout ({closed} of {len(sockets)})")
    for writer in sockets:
        writer.close()


async def keep_alive(port):
    """An idle keep-alive connection is the idle timeout's business, not the header timeout's."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses = []
    for pause in (0, 3):  # 3 s idle: past the 2 s header timeout, within the idle timeout
        await asyncio.sleep(pause)
        writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            statuses.append(None)
            break
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        statuses.append(int(head.split()[1]))
    writer.close()
    check(statuses == [200, 200], f"a keep-alive connection idle for 3 s still serves its next request: {statuses}")


async def burst(port):
    async def at(delay):
        await asyncio.sleep(delay)
        return await one_request(port, get("/health/live"), 3)

    started = time.monotonic()
    results = await asyncio.gather(*(at(i / BURST) for i in range(BURST)))
    spread = time.monotonic() - started
    ok = [s for s, _ in results if s == 200]
    slowest = max(seconds for _, seconds in results)
    print(f"overload check: {BURST} new connections in {spread:.2f} s, slowest answer {slowest:.3f} s", flush=True)
    check(len(ok) == BURST, f"every connection of the burst answered 200 ({len(ok)} of {BURST})")
    check(slowest < 1.0, f"no connection of the burst waited a second or more (slowest {slowest:.3f} s)")


async def oversized(port):
    huge = "GET /health/live HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-Pad-{i}: {'a' * 1000}\r\n" for i in range(100)) + "\r\n"
    status, _ = await one_request(port, huge.encode(), 5)
    check(status in (None, 400, 431), f"a 100 KB header list is refused (closed, 400 or 431), got {status}")
    body = b"{" + b" " * 20_000 + b"}"
    raw = (f"POST /admin/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    status, _ = await one_request(port, raw, 5)
    check(status == 413, f"an admin body over its limit answers 413, got {status}")
    status, _ = await one_request(port, get("/health/live"), 5)
    check(status == 200, "the server still answers after the oversized requests")


async def main():
    with tempfile.TemporaryDirectory(prefix="cg-overload-") as data_dir:
        with serving(BINARY, data_dir, "--header-timeout", "2", "--admin-token", TOKEN, "--default-limit", "50") as port:
            await slowloris(port)
            await keep_alive(port)
            await burst(port)
            await oversized(port)
    check.finish()


if __name__ == "__main__":
    asyncio.run(main())
